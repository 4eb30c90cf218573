"""`info` and `system df`: facts about the engine and the host."""

from __future__ import annotations

import os
import platform

from sampan import __version__
from sampan.engine.status import RUNNING, status_of
from sampan.runtime import cgroups


def cgroup_version() -> int:
    return 2 if cgroups.is_v2() else 1


def info(ctx) -> dict:
    recs = ctx.containers.all()
    states = [status_of(r).state for r in recs]
    images = ctx.images.list_images(all=True)
    return {
        "ServerVersion": __version__, "Containers": len(recs),
        "ContainersRunning": states.count(RUNNING), "ContainersPaused": 0,
        "ContainersStopped": len(recs) - states.count(RUNNING), "Images": len(images),
        "Driver": "overlay", "CgroupDriver": "cgroupfs", "CgroupVersion": str(cgroup_version()),
        "CgroupHierarchy": cgroups.hierarchy(), "CgroupControllers": " ".join(cgroups.controllers()),
        "DefaultRuntime": ctx.default_runtime, "Runtimes": ["native", "runc", "crun"],
        "KernelVersion": platform.release(), "OperatingSystem": _os_name(),
        "Architecture": platform.machine(), "NCPU": os.cpu_count(),
        "MemTotal": os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"),
        "DockerRootDir": str(ctx.paths.root), "RunRoot": str(ctx.paths.runroot),
        "Name": platform.node(),
    }


def _os_name() -> str:
    try:
        for line in open("/etc/os-release"):
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return "Linux"


def disk_usage(ctx) -> dict:
    recs = ctx.containers.all()
    used_images = {r.image_id for r in recs}
    images = ctx.images.list_images(all=True)
    img_size = sum(i.size or 0 for i in images)
    reclaim_img = sum(i.size or 0 for i in images if i.id not in used_images)
    from sampan.engine.sizes import rw_size  # walked by fd: the container may be changing it
    c_sizes = {r.id: rw_size(ctx.container_files(r.id)["upper"]) for r in recs}
    running = {r.id for r in recs if status_of(r).running}
    vols = ctx.volumes.list()
    in_use = {m["source"] for r in recs for m in r.config["mounts"] if m["kind"] == "volume"}
    v_sizes = {v.name: ctx.volumes.size(v.name) for v in vols}
    return {
        "Images": {"total": len(images), "active": len(used_images & {i.id for i in images}),
                   "size": img_size, "reclaimable": reclaim_img},
        "Containers": {"total": len(recs), "active": len(running), "size": sum(c_sizes.values()),
                       "reclaimable": sum(s for c, s in c_sizes.items() if c not in running)},
        "Volumes": {"total": len(vols), "active": len(in_use & set(v_sizes)),
                    "size": sum(v_sizes.values()),
                    "reclaimable": sum(s for n, s in v_sizes.items() if n not in in_use)},
    }
