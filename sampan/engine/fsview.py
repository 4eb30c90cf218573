"""A container's filesystem as the engine reads and writes it (export, cp), built in
a mount namespace of its own.

A short-lived thread unshares its mount namespace (rprivate: nothing made there
propagates back), mounts the container's overlay there if the host has not
(a stopped container), and for cp binds the container's volumes, bind mounts,
/etc files and an empty private tmpfs per tmpfs mount at their container paths,
as Docker's daemon does for `docker cp`. Each mount target is resolved inside
the root (openat2 RESOLVE_IN_ROOT) and held by an fd, and each source is
attached from a detached copy already made read-only where the container has it
read-only (open_tree + mount_setattr + move_mount): a container swapping a path
component meanwhile can only move a mount inside its own root, never make a
read-only one writable.

The thread hands back an fd of the root and one of the namespace, then exits.
Path lookups from the root fd cross the namespace's mounts (the kernel finds
mounts by (mount, dentry), whatever namespace asks). Nothing of this is visible
on the host, and closing the two fds tears it all down: a killed command leaves
no mount behind.
"""

from __future__ import annotations

import os
import threading

from sampan.engine.context import Context
from sampan.engine.records import ContainerRecord
from sampan.errors import KernelFeatureMissing, RuntimeFailure
from sampan.state import inroot

MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_REC = 0x4000
MS_PRIVATE = 1 << 18
CLONE_NEWNS = 0x00020000


class View:
    """The root of a container's filesystem view; close() (or `with`) releases it."""

    def __init__(self, rootfd: int, nsfd: int, read_only: bool):
        self.rootfd = rootfd  # O_PATH fd of the container's /
        self.nsfd = nsfd      # keeps the namespace, and so its mounts, alive
        self.read_only = read_only

    def close(self) -> None:
        for fd in (self.rootfd, self.nsfd):
            if fd >= 0:
                os.close(fd)
        self.rootfd = self.nsfd = -1

    def __enter__(self) -> "View":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_view(ctx: Context, rec: ContainerRecord, mounts: bool) -> View:
    """The container's root; with `mounts`, its volumes and bind mounts too (cp). Without,
    the root alone, as `docker export` writes it. The caller holds the container's lock."""
    plan = _mount_plan(ctx, rec) if mounts else []
    files = ctx.container_files(rec.id)
    # the database is this thread's: read what the overlay needs here
    lowers = [files["init"]] + ctx.images.layer_dirs(ctx.images.resolve(rec.image_id))
    read_only = mounts and rec.config.get("read_only", False)
    result: dict = {}

    def build() -> None:
        try:
            result["view"] = _build(files, lowers, plan, read_only)
        except BaseException as e:  # handed to the caller's thread
            result["error"] = e

    t = threading.Thread(target=build, name="sampan-fsview")
    t.start()
    t.join()
    if "error" in result:
        raise result["error"]
    return result["view"]


def _mount_plan(ctx: Context, rec: ContainerRecord) -> list[tuple[str, str, str, bool]]:
    """(container path, kind, host source, read-only), parents before children."""
    files = ctx.container_files(rec.id)
    plan = []
    user_dests = {m["destination"] for m in rec.config["mounts"]}
    for dest, key in (("/etc/hosts", "hosts"), ("/etc/hostname", "hostname"),
                      ("/etc/resolv.conf", "resolv")):
        if dest not in user_dests and files[key].exists():
            plan.append((dest, "bind", str(files[key]), False))
    for m in rec.config["mounts"]:
        if m["kind"] == "volume":
            src = str(ctx.paths.volumes / m["source"] / "_data")
        elif m["kind"] == "bind":
            src = m["source"]
        else:
            src = ""
        if m["kind"] == "tmpfs" or os.path.exists(src):
            plan.append((m["destination"], m["kind"], src, bool(m.get("readonly"))))
    plan.sort(key=lambda p: len([c for c in p[0].split("/") if c]))
    return plan


def _build(files: dict, lowers: list, plan, read_only: bool) -> View:
    from sampan.runtime.syscalls import Syscalls

    sys = Syscalls()
    try:
        sys.unshare(CLONE_NEWNS)  # this thread only: it has its own fs struct from now on
        sys.mount(None, "/", None, MS_REC | MS_PRIVATE)
    except OSError as e:
        raise RuntimeFailure(f"cannot make a private mount namespace: {e.strerror}") from None
    nsfd = os.open("/proc/thread-self/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
    rootfd = -1
    try:
        rootfd = _open_root(files, lowers)
        for dest, kind, src, ro in plan:
            _mount_one(sys, rootfd, dest, kind, src, ro)
        if read_only:
            _set_attrs(rootfd, "/", recursive=False)
        view, rootfd = View(rootfd, nsfd, read_only), -1
        return view
    except BaseException:
        os.close(nsfd)
        raise
    finally:
        if rootfd >= 0:
            os.close(rootfd)


def _open_root(files: dict, lowers: list) -> int:
    """The overlay root, mounted here (in this namespace only) when the host has not."""
    from sampan.engine import overlay

    target = files["rootfs"]
    target.mkdir(parents=True, exist_ok=True)
    if os.stat(target).st_dev == os.stat(target.parent).st_dev:  # not a mount point
        if files["work"].exists() and any(files["work"].iterdir()):
            import shutil  # lazily: shutil pulls in bz2 and lzma
            shutil.rmtree(files["work"], ignore_errors=True)  # left by a crash: overlay refuses it
        overlay.mount_overlay(lowers, files["upper"], files["work"], target)
    return inroot.open_root(target)


def _mount_one(sys, rootfd: int, dest: str, kind: str, src: str, ro: bool) -> None:
    is_dir = kind == "tmpfs" or os.path.isdir(src)
    target = _target(rootfd, dest, is_dir)
    try:
        if kind == "tmpfs":
            # Docker's view too: a private empty tmpfs, so a copy never lands in the
            # directory the container's tmpfs hides
            sys.mount("tmpfs", inroot.proc_path(target), "tmpfs", MS_NOSUID | MS_NODEV, "mode=755")
            return
        from sampan.runtime import mountapi

        try:
            tree = mountapi.clone_tree(src)
        except OSError as e:
            raise _mount_error(e, dest) from None
        try:
            if ro:
                try:
                    mountapi.set_attrs(tree, mountapi.MOUNT_ATTR_RDONLY)
                except OSError as e:
                    raise _mount_error(e, dest) from None
            mountapi.attach(tree, target)
        finally:
            os.close(tree)
    finally:
        os.close(target)


def _target(rootfd: int, dest: str, is_dir: bool) -> int:
    """An O_PATH fd of the mount point, resolved inside the root; made when missing (as
    the runtime does at start, and Docker's cp)."""
    from sampan.store.extract_at import FdTree

    try:
        return inroot.open_in_root(rootfd, dest, os.O_PATH)
    except FileNotFoundError:
        pass
    tree = FdTree(rootfd)
    if is_dir:
        return tree.open_dir(dest, True)
    parent, base = inroot.split_parent(dest)
    pfd = tree.open_dir("/" + parent, True)
    try:
        try:
            os.close(os.open(base, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                             0o644, dir_fd=pfd))
        except FileExistsError:
            pass
        return os.open(base, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=pfd)
    finally:
        os.close(pfd)


def _set_attrs(rootfd: int, what: str, recursive: bool) -> None:
    from sampan.runtime import mountapi

    try:
        mountapi.set_attrs(rootfd, mountapi.MOUNT_ATTR_RDONLY, recursive)
    except OSError as e:
        raise _mount_error(e, what) from None


def _mount_error(e: OSError, dest: str):
    import errno

    if e.errno == errno.ENOSYS:
        return KernelFeatureMissing("copying with a container's mounts needs Linux 5.12 "
                                    "(open_tree, move_mount, mount_setattr)")
    return RuntimeFailure(f"cannot mount {dest} for the copy: {e.strerror}")
