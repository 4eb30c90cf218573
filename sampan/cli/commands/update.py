"""`update`: change a container's restart policy and resource limits, as `docker update`."""

from __future__ import annotations

from sampan.cli.args import Parser


def main(command: str, argv: list[str], g) -> int:
    p = Parser("update", "Update configuration of one or more containers")
    a = p.add_argument
    a("--restart", help="Restart policy to apply when a container exits: no, on-failure[:N], always, unless-stopped")
    a("-m", "--memory", help="Memory limit (e.g. 512m, 2g)")
    a("--memory-swap", help="Memory plus swap limit (e.g. 1g); -1 for unlimited swap")
    a("--memory-reservation", help="Memory soft limit (e.g. 256m)")
    a("--cpus", help="Number of CPUs (e.g. 1.5)")
    a("-c", "--cpu-shares", help="CPU shares, relative weight (2-262144)")
    a("--cpuset-cpus", help="CPUs the container may use (e.g. 0-1,3)")
    a("--cpuset-mems", help="Memory nodes the container may use (e.g. 0)")
    a("--blkio-weight", help="Block IO relative weight (10-1000)")
    a("--pids-limit", help="Limit the number of processes (-1 for unlimited)")
    a("containers", nargs="+", metavar="CONTAINER")
    ns = p.parse_args(argv)
    from sampan.cli.output import for_each
    from sampan.engine.options import UpdateOptions
    limits = UpdateOptions(memory=ns.memory, memory_swap=ns.memory_swap, memory_reservation=ns.memory_reservation,
                           cpus=ns.cpus, cpu_shares=ns.cpu_shares, cpuset_cpus=ns.cpuset_cpus,
                           cpuset_mems=ns.cpuset_mems, blkio_weight=ns.blkio_weight, pids_limit=ns.pids_limit)
    engine = g.engine()
    # as Docker's: each container named on its line once updated, one line per failure (exit 1)
    return for_each(ns.containers,
                    lambda ref: (engine.update(ref, restart=ns.restart, limits=limits), ref)[1])
