"""`update`: change a container's configuration. Here: its restart policy (`--restart`)."""

from __future__ import annotations

from sampan.cli.args import Parser


def main(command: str, argv: list[str], g) -> int:
    p = Parser("update", "Update configuration of one or more containers")
    p.add_argument("--restart", help="Restart policy to apply when a container exits: no, "
                   "on-failure[:N], always, unless-stopped")
    p.add_argument("containers", nargs="+", metavar="CONTAINER")
    ns = p.parse_args(argv)
    from sampan.cli.output import for_each
    engine = g.engine()
    # as Docker's: each container named on its line once updated, one line per failure (exit 1)
    return for_each(ns.containers, lambda ref: (engine.update(ref, restart=ns.restart), ref)[1])
