"""Filesystem views of a container: `diff` (its upper dir) and `export` (its whole root).

Both read trees the container controls, so both walk them through fds (store/walk_at):
a directory swapped for a symlink while we read is read as the symlink, never followed.
"""

from __future__ import annotations

import errno
import os
import stat
from typing import BinaryIO

from sampan.engine.context import Context
from sampan.engine.records import ContainerRecord
from sampan.state import inroot

OPAQUE_XATTR = "trusted.overlay.opaque"


def _is_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def _in_layer(layer_fd: int, rel: str) -> bool:
    """Whether a layer holds `rel`: resolved below it following no symlink (a layer's
    symlink to a directory does not hold what a later layer put at that path)."""
    try:
        os.close(inroot.open_beneath(layer_fd, rel, os.O_PATH))
        return True
    except OSError as e:
        if e.errno in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP, errno.EXDEV):
            return False
        raise


def diff(ctx: Context, rec: ContainerRecord) -> list[tuple[str, str]]:
    """(kind, path) with kind A (added), C (changed), D (deleted), as `docker diff`."""
    from sampan.store.walk_at import walk_fd

    upper = ctx.container_files(rec.id)["upper"]
    if not upper.is_dir():
        return []
    lowers = ctx.images.layer_dirs(ctx.images.resolve(rec.image_id))
    lower_fds = [inroot.open_root(lo) for lo in lowers]
    upper_fd = inroot.open_root(upper)
    out: list[tuple[str, str]] = []
    try:
        # parents come before their contents (Docker's order too)
        for node in walk_fd(upper_fd):
            rel = "/" + node.rel
            if _is_whiteout(node.st):
                out.append(("D", rel))
                continue
            out.append(("C" if any(_in_layer(fd, node.rel) for fd in lower_fds) else "A", rel))
    finally:
        for fd in lower_fds + [upper_fd]:
            os.close(fd)
    return out


def export(ctx: Context, rec: ContainerRecord, out: BinaryIO) -> None:
    """Write the container's root filesystem as a tar (volumes and bind mounts are not
    part of it, as with Docker). A stopped container's root is mounted for the time of
    the export in a mount namespace of its own (engine/fsview)."""
    from sampan.engine.fsview import open_view
    from sampan.store import tar_at
    from sampan.store.walk_at import Node

    with open_view(ctx, rec, mounts=False) as view:
        with Node(os.dup(view.rootfd), "") as top:
            tar_at.write(out, tar_at.Members().tree(top, None))
