"""`doctor`: one line per host feature, and how to fix what is missing."""

from __future__ import annotations

from sampan.cli.args import Parser

_MARK = {"ok": "ok     ", "warn": "warn   ", "missing": "MISSING"}


def main(command: str, argv: list[str], g) -> int:
    p = Parser("doctor", description="Check what this host gives sampan: kernel, cgroups, overlayfs, "
               "namespaces, seccomp, iptables, CNI plugins. Changes nothing. Exit status 0 when "
               "sampan can run containers here, 1 when something it needs is missing.")
    p.add_argument("--format", choices=["json"], help="json: the findings as a JSON list")
    ns = p.parse_args(argv)
    report = g.engine(need_root=False).system.doctor()
    if ns.format == "json":
        from sampan.cli.output import print_json
        print_json([vars(f) for f in report.findings])
    else:
        for f in report.findings:
            line = f"{_MARK[f.status]} {f.name}: {f.detail}"
            if f.fix and f.status != "ok":
                line += f" -> {f.fix}"
            print(line)
        print("sampan can run containers here" if report.can_run
              else "sampan cannot run containers here until the MISSING lines are fixed")
    return 0 if report.can_run else 1
