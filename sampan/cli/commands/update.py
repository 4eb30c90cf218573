"""`update`: change a container's restart policy and resource limits, as `docker update`."""

from __future__ import annotations

from sampan.cli.args import Parser
from sampan.cli.commands.run import CFS_DESTS, LIMIT_DESTS, add_limit_flags


def main(command: str, argv: list[str], g) -> int:
    p = Parser("update", "Update configuration of one or more containers")
    a = p.add_argument
    a("--restart", help="Restart policy to apply when a container exits: no, on-failure[:N], always, unless-stopped")
    add_limit_flags(a)
    a("containers", nargs="+", metavar="CONTAINER")
    ns = p.parse_args(argv)
    from sampan.cli.output import for_each
    from sampan.engine.options import UpdateOptions
    limits = UpdateOptions(**{k: getattr(ns, k) for k in LIMIT_DESTS + CFS_DESTS})
    engine = g.engine()
    # as Docker's: each container named on its line once updated, one line per failure (exit 1)
    return for_each(ns.containers,
                    lambda ref: (engine.update(ref, restart=ns.restart, limits=limits), ref)[1])
