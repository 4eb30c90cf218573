"""`ps` (and `container ls`)."""

from __future__ import annotations

from sampan.cli.args import Parser, int64
from sampan.cli.output import format_template, table


def main(command: str, argv: list[str], g) -> int:
    p = Parser("ps", "List containers")
    p.add_argument("-a", "--all", action="store_true", help="Show all containers (default shows just running)")
    p.add_argument("-q", "--quiet", action="store_true", help="Only display container IDs")
    p.add_argument("--no-trunc", action="store_true", help="Don't truncate output")
    p.add_argument("-f", "--filter", action="append", default=[], help="Filter (status=, name=, id=, label=, exited=)")
    p.add_argument("--format", help="Format output using a Go-like template, e.g. '{{.Names}}'")
    p.add_argument("-l", "--latest", action="store_true", help="Show the latest created container")
    p.add_argument("-n", "--last", type=int64, default=-1, help="Show n last created containers")
    ns = p.parse_args(argv)
    rows = g.engine().list_containers(all=ns.all or ns.latest or ns.last > 0, filters=ns.filter)
    if ns.latest:
        rows = rows[:1]
    elif ns.last > 0:
        rows = rows[:ns.last]
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
                    r["Status"], r["Ports"], r["Names"]])
    table(["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"], out)
    return 0
