"""Filesystem views of a container: `diff` (its upper dir) and `export` (its whole root)."""

from __future__ import annotations

import os
import stat
import tarfile
from typing import BinaryIO

from sampan.engine import rootfs
from sampan.engine.context import Context
from sampan.engine.records import ContainerRecord

OPAQUE_XATTR = "trusted.overlay.opaque"


def _is_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def diff(ctx: Context, rec: ContainerRecord) -> list[tuple[str, str]]:
    """(kind, path) with kind A (added), C (changed), D (deleted), as `docker diff`."""
    upper = ctx.container_files(rec.id)["upper"]
    lowers = ctx.images.layer_dirs(ctx.images.resolve(rec.image_id))
    out: list[tuple[str, str]] = []
    for dirpath, dirnames, filenames in os.walk(upper):
        rel_dir = "/" + os.path.relpath(dirpath, upper) if dirpath != str(upper) else ""
        for name in sorted(dirnames + filenames):
            full = os.path.join(dirpath, name)
            rel = f"{rel_dir}/{name}"
            st = os.lstat(full)
            if _is_whiteout(st):
                out.append(("D", rel))
                continue
            in_lower = any(os.path.lexists(str(lo) + rel) for lo in lowers)
            out.append(("C" if in_lower else "A", rel))
    # Docker lists a changed dir before its contents; os.walk's order already does so.
    return out


def export(ctx: Context, rec: ContainerRecord, out: BinaryIO) -> None:
    """Write the container's merged filesystem as a tar, mounting it if it is not running."""
    from sampan.engine import runstate

    root = ctx.container_files(rec.id)["rootfs"]
    mounted_here = False
    if not rootfs.is_mounted(root):
        runstate.mount_rootfs(ctx, rec)
        mounted_here = True
    try:
        with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            for dirpath, dirnames, filenames in os.walk(root):
                dirnames.sort()
                for name in sorted(dirnames + filenames):
                    full = os.path.join(dirpath, name)
                    arc = os.path.relpath(full, root)
                    ti = tar.gettarinfo(full, arcname=arc)
                    if ti.isreg():
                        with open(full, "rb") as f:
                            tar.addfile(ti, f)
                    else:
                        tar.addfile(ti)
    finally:
        if mounted_here:
            rootfs.unmount(root)
