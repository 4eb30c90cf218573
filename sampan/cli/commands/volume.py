"""`volume create|ls|inspect|rm|prune`."""

from __future__ import annotations

from sampan.cli.args import Parser, key_values
from sampan.cli.output import inspect_each, report_items, table
from sampan.engine.options import ListOptions, PruneOptions, RemoveOptions, VolumeCreateOptions
from sampan.errors import InvalidArgument

VERBS = ("create", "ls", "inspect", "rm", "prune")


def main(command: str, argv: list[str], g) -> int:
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in VERBS + ("list", "remove"):
        print("Usage:  sampan volume COMMAND\n\nCommands:\n  create    Create a volume\n"
              "  ls        List volumes\n  inspect   Display detailed information on volumes\n"
              "  rm        Remove one or more volumes\n  prune     Remove unused volumes")
        return 0 if argv and argv[0] in ("-h", "--help") else 125
    verb = {"list": "ls", "remove": "rm"}.get(argv[0], argv[0])
    p = Parser(f"volume {verb}")
    engine = g.engine()
    if verb == "create":
        p.add_argument("--label", action="append", default=[])
        p.add_argument("-d", "--driver", default="local")
        p.add_argument("name", nargs="?")
        ns = p.parse_args(argv[1:])
        info = engine.volumes.create(VolumeCreateOptions(name=ns.name, driver=ns.driver,
                                                         labels=key_values(ns.label, "label")))
        print(info.name)
    elif verb == "ls":
        p.add_argument("-q", "--quiet", action="store_true")
        p.add_argument("-f", "--filter", action="append", default=[],
                       help="Filter output (dangling=true|false, name=, label=KEY[=VALUE], driver=)")
        p.add_argument("--format", help="Format output using a Go template ('table', 'json', '{{.Name}}')")
        ns = p.parse_args(argv[1:])
        vols = engine.volumes.list(ListOptions(filters=ns.filter))
        if ns.quiet:
            for v in vols:
                print(v.name)
        elif ns.format:
            from sampan.cli.formatters import VolumeContext
            from sampan.cli.output import write_formatted
            write_formatted(ns.format, [VolumeContext(v) for v in vols], VolumeContext)
        else:
            table(["DRIVER", "VOLUME NAME"], [["local", v.name] for v in vols])
    elif verb == "inspect":
        p.add_argument("-f", "--format", help="Format output using a Go template ('json', '{{.Mountpoint}}')")
        p.add_argument("names", nargs="+")
        ns = p.parse_args(argv[1:])
        return inspect_each(ns.names, engine.volumes.inspect, ns.format)
    elif verb == "rm":
        p.add_argument("-f", "--force", action="store_true", help="Do not fail on a volume that does not exist")
        p.add_argument("names", nargs="+")
        ns = p.parse_args(argv[1:])
        return report_items(engine.volumes.remove(ns.names, RemoveOptions(force=ns.force)), missing_ok=ns.force)
    elif verb == "prune":
        p.add_argument("-a", "--all", action="store_true", help="Remove all unused volumes, not just anonymous ones")
        p.add_argument("-f", "--force", action="store_true", help="Do not prompt for confirmation")
        from sampan.cli.commands import prune
        prune.add_filter(p, "label=<label>")
        ns = p.parse_args(argv[1:])
        from sampan.cli import prompt
        if ns.all and any(f.partition("=")[0] == "all" for f in ns.filter):
            raise InvalidArgument("conflicting options: cannot specify both --all and --filter all=1")
        if not ns.force and not prompt.confirm(prompt.VOLUMES_ALL if ns.all else prompt.VOLUMES_ANONYMOUS):
            return 0
        report = engine.volumes.prune(PruneOptions(all=ns.all, filters=ns.filter))
        prune.section("Deleted Volumes:", report.deleted)
        prune.total(report.space_reclaimed)
    return 0
