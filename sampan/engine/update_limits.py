"""`update`: a container's resource limits changed, as `docker update` does: written into
its cgroup at once when it runs, and kept in its config for every later start."""

from __future__ import annotations

import copy

from sampan.engine.context import Context
from sampan.engine.records import ContainerRecord
from sampan.errors import InvalidArgument, InvalidState, SampanError
from sampan.specgen import units

from typing import TYPE_CHECKING  # typing is loaded on every path that imports this
if TYPE_CHECKING:
    from sampan.engine.container_config import ContainerConfig
    from sampan.engine.options import UpdateOptions


def changed_limits(config: ContainerConfig, opts: UpdateOptions) -> dict:
    """The config keys the update sets (checked as `run` checks them), given the current config."""
    out: dict = {}
    memory = config.get("memory")
    if opts.memory:
        memory = out["memory"] = units.parse_memory(opts.memory)
        if not opts.memory_swap:
            swap = config.get("memory_swap")
            if swap is not None and swap != -1 and memory > swap:
                raise InvalidArgument("Memory limit should be smaller than already set memoryswap limit, "
                                      "update the memoryswap at the same time")
    if opts.memory_swap:
        out["memory_swap"] = units.parse_memory_swap(opts.memory_swap, memory)
    if opts.memory_reservation:
        out["memory_reservation"] = units.parse_memory_reservation(opts.memory_reservation, memory)
    if opts.cpus:
        out["cpu_quota"] = units.parse_cpus(opts.cpus)
        out["cpus"] = opts.cpus
    if opts.cpu_shares:
        out["cpu_shares"] = units.parse_cpu_shares(opts.cpu_shares)
    if opts.cpuset_cpus:
        out["cpuset_cpus"] = units.parse_cpuset(opts.cpuset_cpus, "--cpuset-cpus", units.CPUS_ONLINE)
    if opts.cpuset_mems:
        out["cpuset_mems"] = units.parse_cpuset(opts.cpuset_mems, "--cpuset-mems", units.MEMS_ONLINE)
    if opts.blkio_weight:
        out["blkio_weight"] = units.parse_blkio_weight(opts.blkio_weight)
    if opts.pids_limit:
        pids = units.parse_pids_limit(opts.pids_limit)
        out["pids_limit"] = None if pids == -1 else pids
    if opts.cpus or opts.cpu_period or opts.cpu_quota or opts.cpu_rt_period or opts.cpu_rt_runtime \
            or opts.kernel_memory:
        out.update(_cfs_changes(config, opts))
    return out


def _cfs_changes(config: ContainerConfig, opts: UpdateOptions) -> dict:
    """--cpu-period/--cpu-quota/--cpu-rt-*: checked as at create, and as Docker's update
    against what is set (--cpus and the CFS pair each block the other)."""
    from sampan.engine import cgroup_flags
    cgroup_flags.kernel_memory(opts.kernel_memory)
    out = {**cgroup_flags.cpu_cfs(opts, nano_cpus_given=bool(opts.cpus)), **cgroup_flags.cpu_rt(opts)}
    if opts.cpus and config.get("cpu_period"):
        raise InvalidArgument("Conflicting options: Nano CPUs cannot be updated as CPU Period has already been set")
    if opts.cpus and (config.get("cpu_cfs_quota") or 0) > 0:
        raise InvalidArgument("Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been set")
    if config.get("cpus") and not opts.cpus:
        if out.get("cpu_period"):
            raise InvalidArgument("Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set")
        if (out.get("cpu_cfs_quota") or 0) > 0:
            raise InvalidArgument("Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set")
    return out


def update_limits(ctx: Context, rec: ContainerRecord, opts: UpdateOptions) -> None:
    from sampan.engine.status import status_of

    with ctx.container_lock(rec.id):
        rec = ctx.containers.get(rec.id) or rec
        changed = changed_limits(rec.config, opts)
        if not changed:
            return
        new = copy.copy(rec)
        new.config = {**rec.config, **changed}
        if status_of(rec).running:
            _write_live(ctx, new, pids_unlimited="pids_limit" in changed and changed["pids_limit"] is None)
        ctx.containers.update(rec.id, config=new.config)


def _write_live(ctx: Context, rec: ContainerRecord, pids_unlimited: bool) -> None:
    """The new limits into the running container's cgroup (any runtime: they all use
    cgroups_path), from the same spec a start would write."""
    from sampan.engine.bundle import container_spec
    from sampan.runtime.base import cgroups_path
    from sampan.runtime.cgroups import open_cgroup

    res = dict(container_spec(ctx, rec)["linux"]["resources"])
    res.pop("devices", None)
    if pids_unlimited:
        res["pids"] = {"limit": -1}
    try:
        open_cgroup(cgroups_path(rec.id, rec.config.get("cgroup_parent"))).update_limits(res)
    except SampanError as e:
        raise InvalidState(f"cannot update container {rec.name}: {e.message}") from None
