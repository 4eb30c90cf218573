"""`ps` (and `container ls`)."""

from __future__ import annotations

from sampan.cli.args import Parser, int64
from sampan.cli.output import table
from sampan.oci.times import ago, parse_time


def row(s) -> dict:
    """A ContainerSummary as the fields `--format` templates know (Docker's ps columns)."""
    return {"ID": s.id, "Image": s.image, "Command": s.command, "CreatedAt": s.created,
            "Created": parse_time(s.created), "RunningFor": ago(s.created), "Status": s.status,
            "State": s.state, "Names": s.name, "ExitCode": s.exit_code,
            "Ports": ", ".join(f"{p.ip}:{p.public_port}->{p.private_port}/{p.type}" if p.public_port
                               else f"{p.private_port}/{p.type}" for p in s.ports),
            "Labels": ",".join(f"{k}={v}" for k, v in s.labels.items())}


def main(command: str, argv: list[str], g) -> int:
    p = Parser("ps", "List containers")
    p.add_argument("-a", "--all", action="store_true", help="Show all containers (default shows just running)")
    p.add_argument("-q", "--quiet", action="store_true", help="Only display container IDs")
    p.add_argument("--no-trunc", action="store_true", help="Don't truncate output")
    p.add_argument("-f", "--filter", action="append", default=[],
                   help="Filter (status=, name=, id=, label=, exited=, ancestor=, network=, volume=, "
                        "before=, since=, health=, publish=, expose=)")
    p.add_argument("--format", help="Format output using a Go template ('table', 'json', '{{.Names}}', "
                                    "'table {{.ID}}\\t{{.Status}}')")
    p.add_argument("-l", "--latest", action="store_true", help="Show the latest created container")
    p.add_argument("-n", "--last", type=int64, default=-1, help="Show n last created containers")
    p.add_argument("-s", "--size", action="store_true", help="Display total file sizes")
    ns = p.parse_args(argv)
    from sampan.engine.options import ListOptions
    limit = 1 if ns.latest else ns.last
    if ns.format and not ns.quiet:  # Docker checks the template before it lists
        from sampan.cli.gotemplate.docker import parse
        parse(ns.format, prefix="failed to parse template: ")
    # sizes walk every writable layer: only when shown (-s, or a template that uses .Size, as Docker)
    size = ns.size or bool(ns.format and ".Size" in ns.format and not ns.quiet)
    summaries = g.engine().containers.list(ListOptions(all=ns.all, filters=ns.filter, limit=limit, size=size))
    rows = [row(s) for s in summaries]
    if ns.quiet:
        for r in rows:
            print(r["ID"] if ns.no_trunc else r["ID"][:12])
        return 0
    if ns.format or ns.size:
        from sampan.cli.formatters import ContainerContext
        from sampan.cli.output import write_formatted
        fmt = ns.format or ContainerContext.DEFAULT + "\t{{.Size}}"  # Docker's -s: a SIZE column last
        write_formatted(fmt, [ContainerContext(s, trunc=not ns.no_trunc) for s in summaries], ContainerContext)
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
