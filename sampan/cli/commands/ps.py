"""`ps` (and `container ls`)."""

from __future__ import annotations

from sampan.cli.args import Parser, int64
from sampan.cli.output import format_template, human_size, table
from sampan.oci.times import ago, parse_time


def row(s) -> dict:
    """A ContainerSummary as the fields `--format` templates know (Docker's ps columns)."""
    return {"ID": s.id, "Image": s.image, "Command": s.command, "CreatedAt": s.created,
            "Created": parse_time(s.created), "RunningFor": ago(s.created), "Status": s.status,
            "State": s.state, "Names": s.name, "ExitCode": s.exit_code,
            "Ports": ", ".join(f"{p.ip}:{p.public_port}->{p.private_port}/{p.type}" for p in s.ports),
            "Labels": ",".join(f"{k}={v}" for k, v in s.labels.items()), "Size": size_text(s)}


def size_text(s) -> str:
    """Docker's SIZE: the writable layer, and with the image "(virtual ...)", 3 digits."""
    if s.size_rw is None:
        return ""
    rw = human_size(s.size_rw, 3)
    return f"{rw} (virtual {human_size(s.size_root_fs, 3)})" if s.size_root_fs else rw


def main(command: str, argv: list[str], g) -> int:
    p = Parser("ps", "List containers")
    p.add_argument("-a", "--all", action="store_true", help="Show all containers (default shows just running)")
    p.add_argument("-q", "--quiet", action="store_true", help="Only display container IDs")
    p.add_argument("--no-trunc", action="store_true", help="Don't truncate output")
    p.add_argument("-f", "--filter", action="append", default=[],
                   help="Filter (status=, name=, id=, label=, exited=, ancestor=, network=, volume=, "
                        "before=, since=, health=, publish=, expose=)")
    p.add_argument("--format", help="Format output using a Go-like template, e.g. '{{.Names}}'")
    p.add_argument("-l", "--latest", action="store_true", help="Show the latest created container")
    p.add_argument("-n", "--last", type=int64, default=-1, help="Show n last created containers")
    p.add_argument("-s", "--size", action="store_true", help="Display total file sizes")
    ns = p.parse_args(argv)
    from sampan.engine.options import ListOptions
    limit = 1 if ns.latest else ns.last
    rows = [row(s) for s in g.engine().containers.list(ListOptions(all=ns.all, filters=ns.filter, limit=limit,
                                                                                 size=ns.size))]
    if ns.quiet:
        for r in rows:
            print(r["ID"] if ns.no_trunc else r["ID"][:12])
        return 0
    if ns.format:
        for r in rows:
            print(format_template(ns.format, r))
        return 0
    out = []
    for r in rows:
        cmd = r["Command"]
        if not ns.no_trunc and len(cmd) > 20:
            cmd = cmd[:19] + "…"
        out.append([r["ID"] if ns.no_trunc else r["ID"][:12], r["Image"], f'"{cmd}"', r["RunningFor"],
                    r["Status"], r["Ports"], r["Names"]] + ([r["Size"]] if ns.size else []))
    table(["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]
          + (["SIZE"] if ns.size else []), out)
    return 0
