"""`stop`, `kill`, `restart`, `wait`, `rm`: each acts on every container named and
reports per container, so `rm a b c` removes what it can and names what it could not."""

from __future__ import annotations

import sys

from sampan.cli.args import Parser, int64
from sampan.cli.output import for_each, report_items


def main(command: str, argv: list[str], g) -> int:
    p = Parser(command)
    if command in ("stop", "restart"):
        p.add_argument("-t", "--time", "--timeout", type=int64, dest="time",
                       help="Seconds to wait before killing the container")
    if command == "kill":
        p.add_argument("-s", "--signal", default="SIGKILL", help="Signal to send (default SIGKILL)")
    if command == "rm":
        p.add_argument("-f", "--force", action="store_true", help="Force the removal of a running container")
        p.add_argument("-v", "--volumes", action="store_true", help="Remove anonymous volumes too")
    p.add_argument("containers", nargs="+")
    ns = p.parse_args(argv)
    engine = g.engine()

    def note(msg):
        if msg:
            sys.stderr.write(f"sampan: {msg}\n")

    if command == "stop":
        return for_each(ns.containers, lambda r: (note(engine.stop(r, ns.time)), r)[1])
    if command == "restart":
        return for_each(ns.containers, lambda r: (note(engine.restart(r, ns.time)), r)[1])
    if command == "kill":
        return for_each(ns.containers, lambda r: (engine.kill(r, ns.signal), r)[1])
    if command == "wait":
        return for_each(ns.containers, engine.wait)
    from sampan.engine.options import RemoveOptions
    return report_items(engine.containers.remove(ns.containers, RemoveOptions(force=ns.force, volumes=ns.volumes)),
                        missing_ok=ns.force)
