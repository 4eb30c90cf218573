"""A container's root filesystem: overlayfs of the image's layers plus its own upper dir."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from sampan.errors import KernelFeatureMissing, RuntimeFailure

MNT_DETACH = 2
_PAGE = 4096


def _overlay_options(lowers: list[Path], upper: Path, work: Path) -> str:
    return f"lowerdir={':'.join(map(str, lowers))},upperdir={upper},workdir={work},index=off"


def mount_overlay(lowers: list[Path], upper: Path, work: Path, target: Path) -> None:
    """Mount overlay(lowers top-first, upper) on target."""
    from sampan.runtime.syscalls import Syscalls

    sys = Syscalls()
    for d in (upper, work, target):
        d.mkdir(parents=True, exist_ok=True)
    if not lowers:
        # An image with no layers (FROM scratch, nothing added): an empty lower dir.
        empty = work.parent / "empty-lower"
        empty.mkdir(exist_ok=True)
        lowers = [empty]
    opts = _overlay_options(lowers, upper, work)
    if len(opts) >= _PAGE:
        # The mount data must fit in a page: name the lowers relative to their common parent.
        common = Path(os.path.commonpath([str(p) for p in lowers]))
        opts = _overlay_options([p.relative_to(common) for p in lowers], upper, work)
        cwd = os.getcwd()
        os.chdir(common)
        try:
            _mount(sys, opts, target)
        finally:
            os.chdir(cwd)
        return
    _mount(sys, opts, target)


def _mount(sys, opts: str, target: Path) -> None:
    try:
        sys.mount("overlay", str(target), "overlay", 0, opts)
    except OSError as e:
        if e.errno == errno.ENODEV:
            raise KernelFeatureMissing("the kernel has no overlayfs: load it with `modprobe overlay`") from None
        raise RuntimeFailure(f"cannot mount the container's root filesystem: {e.strerror}") from None


def unmount(target: Path) -> None:
    """Detach-unmount target if it is a mount point; ignore if it is not mounted."""
    from sampan.runtime.syscalls import Syscalls

    try:
        Syscalls().umount2(str(target), MNT_DETACH)
    except OSError as e:
        if e.errno not in (errno.EINVAL, errno.ENOENT):
            raise RuntimeFailure(f"cannot unmount {target}: {e.strerror}") from None


def is_mounted(target: Path) -> bool:
    """Is the container's root (an overlay, its own device) mounted on target? Two stats,
    not a read of /proc/self/mountinfo, whose size grows with the containers."""
    return os.path.ismount(target)
