"""`pause` and `unpause`: freeze or thaw every process of each container named."""

from __future__ import annotations

from sampan.cli.args import Parser
from sampan.cli.output import for_each


def main(command: str, argv: list[str], g) -> int:
    p = Parser(command, "Pause all processes within one or more containers" if command == "pause"
               else "Unpause all processes within one or more containers")
    p.add_argument("containers", nargs="+")
    ns = p.parse_args(argv)
    engine = g.engine()
    verb = engine.pause if command == "pause" else engine.unpause
    return for_each(ns.containers, lambda ref: (verb(ref), ref)[1])
