"""Build the container's filesystem view inside its new mount namespace.

Runs in the container's init before pivot_root (prepare) and after it
(finalize). Every kernel call goes through `sys` so tests can record them.
"""

from __future__ import annotations

import os
import stat

from sampan.state.securejoin import secure_join as _secure_join
from sampan.runtime.mountopts import (MNT_DETACH, MS_BIND, MS_NOATIME, MS_NODEV, MS_NODIRATIME,
                                      MS_NOEXEC, MS_NOSUID, MS_PRIVATE, MS_RELATIME, MS_RDONLY, MS_REC, MS_REMOUNT, MS_SLAVE,
                                      PROPAGATION, parse_options)

DEFAULT_DEVICES = [  # name, major, minor: what every container gets, as runc does
    ("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8), ("urandom", 1, 9), ("tty", 5, 0),
]
DEV_SYMLINKS = [("/proc/self/fd", "fd"), ("/proc/self/fd/0", "stdin"),
                ("/proc/self/fd/1", "stdout"), ("/proc/self/fd/2", "stderr")]


def secure_join(root: str, path: str) -> str:
    """root + path with every symlink resolved as if root were '/', never escaping root."""
    return str(_secure_join(root, path))


def _kept_flags(path: str) -> int:
    """nosuid/nodev/noexec/atime flags already on the mount, which a bind remount must repeat."""
    try:
        f = os.statvfs(path).f_flag
    except OSError:
        return 0
    out = f & (MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME)
    return out | (MS_RELATIME if f & 4096 else 0)  # ST_RELATIME


def _make_target(dest: str, source_is_dir: bool) -> None:
    if source_is_dir:
        os.makedirs(dest, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        if not os.path.exists(dest):
            os.close(os.open(dest, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o644))


CGROUP_ROOT = "/sys/fs/cgroup"


class RootfsBuilder:
    def __init__(self, sys, spec: dict, rootfs: str, cgroup_hierarchies: dict[str, str] | None,
                 cgroup_v2: bool) -> None:
        self.sys = sys
        self.spec = spec
        self.rootfs = rootfs
        self.linux = spec.get("linux") or {}
        self.cgroup_hierarchies = cgroup_hierarchies or {}
        self.cgroup_v2 = cgroup_v2
        self.deferred: list[dict] = []
        # --cgroupns host: no namespace roots a cgroup mount at our group, so the container's
        # own group dirs are bound instead (as runc does): never the host's whole tree
        self.host_cgroupns = not any(ns.get("type") == "cgroup" for ns in self.linux.get("namespaces") or [])

    # ---- before pivot_root ----
    def can_defer_cgroup(self) -> bool:
        """Cgroup mounts may wait until after pivot_root (while the runtime moves us into our
        cgroup) unless another mount lives beneath one of them."""
        mounts = self.spec.get("mounts") or []
        cg = [m["destination"].rstrip("/") + "/" for m in mounts if m.get("type") in ("cgroup", "cgroup2")]
        if self.host_cgroupns and cg:
            return False  # the host's cgroup dirs must be bound before pivot_root hides them
        return not any(m.get("destination", "").startswith(d) for d in cg for m in mounts)

    def prepare(self, step=None, defer_cgroup: bool = False) -> None:
        # our mounts must not leak to the host: private unless the spec asks otherwise
        prop = PROPAGATION.get(self.linux.get("rootfsPropagation") or "", MS_PRIVATE | MS_REC)
        self.sys.mount(None, "/", None, prop)
        self.sys.mount(self.rootfs, self.rootfs, None, MS_BIND | MS_REC)
        for m in self.spec.get("mounts") or []:
            if defer_cgroup and m.get("type") in ("cgroup", "cgroup2"):
                self.deferred.append(m)
            else:
                self.mount_one(m)
        if self.dev_is_fresh():
            if step is not None:
                step.name = "create devices in /dev"
            self.make_devices()
            self.make_dev_links()

    def dev_is_fresh(self) -> bool:
        for m in self.spec.get("mounts") or []:
            if m.get("destination", "").rstrip("/") == "/dev":
                return not parse_options(m.get("options")).is_bind and m.get("type") != "bind"
        return False

    def mount_deferred(self) -> None:
        """The cgroup mounts held back by prepare(defer_cgroup=True); runs after pivot_root."""
        for m in self.deferred:
            self.mount_one(m, root="/")

    def mount_one(self, m: dict, root: str | None = None) -> None:
        opts = parse_options(m.get("options"))
        mtype = m.get("type")
        dest = secure_join(root or self.rootfs, m["destination"])
        if mtype == "bind" or opts.is_bind:
            self._bind(m.get("source", ""), dest, opts)
        elif mtype in ("cgroup", "cgroup2"):
            self._cgroup(dest, opts)
        else:
            os.makedirs(dest, exist_ok=True)
            self.sys.mount(m.get("source") or mtype, dest, mtype, opts.flags, opts.data_str)
            for p in opts.propagation:
                self.sys.mount(None, dest, None, p)

    def _bind(self, source: str, dest: str, opts) -> None:
        _make_target(dest, os.path.isdir(source))
        self.sys.mount(source, dest, None, MS_BIND | (opts.flags & MS_REC), opts.data_str)
        extra = opts.flags & ~(MS_BIND | MS_REC)
        if extra:  # flags like ro only take effect on a bind remount
            self.sys.mount(None, dest, None, extra | MS_BIND | MS_REMOUNT | _kept_flags(dest))
        for p in opts.propagation:
            self.sys.mount(None, dest, None, p)

    def _cgroup(self, dest: str, opts) -> None:
        os.makedirs(dest, exist_ok=True)
        flags = opts.flags | MS_NOSUID | MS_NODEV | MS_NOEXEC
        rel = (self.linux.get("cgroupsPath") or "").strip("/")
        if self.cgroup_v2:
            if self.host_cgroupns:
                self._bind_own_group(os.path.join(CGROUP_ROOT, rel), dest, flags)
            else:
                self.sys.mount("cgroup2", dest, "cgroup2", flags)
            return
        # v1: a tmpfs holding one mount per hierarchy; the cgroup namespace roots each at our cgroup
        self.sys.mount("tmpfs", dest, "tmpfs", (flags & ~MS_RDONLY), "mode=755")
        for name, data in self.cgroup_hierarchies.items():
            sub = os.path.join(dest, name)
            os.makedirs(sub, exist_ok=True)
            if self.host_cgroupns:
                self._bind_own_group(os.path.join(CGROUP_ROOT, name, rel), sub, flags)
            else:
                self.sys.mount("cgroup", sub, "cgroup", flags, data)
        if flags & MS_RDONLY:
            self.sys.mount(None, dest, None, flags | MS_REMOUNT | MS_BIND)

    def _bind_own_group(self, source: str, dest: str, flags: int) -> None:
        """The container's own cgroup dir of the host's tree, with the mount's flags (ro...)."""
        os.makedirs(dest, exist_ok=True)
        self.sys.mount(source, dest, None, MS_BIND)
        self.sys.mount(None, dest, None, (flags & ~MS_REC) | MS_BIND | MS_REMOUNT)

    def make_devices(self) -> None:
        wanted = {"/dev/" + name: ("c", major, minor, 0o666, 0, 0) for name, major, minor in DEFAULT_DEVICES}
        for d in self.linux.get("devices") or []:  # a path outside /dev (--device H:/x) is made there
            wanted["/" + d["path"].lstrip("/")] = (d.get("type", "c"), d.get("major", 0), d.get("minor", 0),
                                                   d.get("fileMode", 0o666), d.get("uid", 0), d.get("gid", 0))
        for name, (kind, major, minor, mode, uid, gid) in wanted.items():
            path = secure_join(self.rootfs, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            kind_bits = {"c": stat.S_IFCHR, "u": stat.S_IFCHR, "b": stat.S_IFBLK, "p": stat.S_IFIFO}[kind]
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            self.sys.mknod(path, kind_bits | (mode & 0o7777), os.makedev(major, minor))
            if os.path.exists(path):
                os.chmod(path, mode & 0o7777)  # mknod obeys the umask; the spec's mode is exact
                os.chown(path, uid, gid)

    def make_dev_links(self) -> None:
        dev = os.path.join(self.rootfs, "dev")
        for target, name in DEV_SYMLINKS:
            try:
                os.symlink(target, os.path.join(dev, name))
            except FileExistsError:
                pass
        if os.path.isdir(os.path.join(dev, "pts")):
            ptmx = os.path.join(dev, "ptmx")
            if os.path.lexists(ptmx):
                os.unlink(ptmx)
            os.symlink("pts/ptmx", ptmx)

    def pivot(self) -> None:
        """pivot_root(".", ".") then detach the old root stacked under it (runc's trick: no temp dir)."""
        old = os.open("/", os.O_DIRECTORY | os.O_RDONLY | os.O_CLOEXEC)
        new = os.open(self.rootfs, os.O_DIRECTORY | os.O_RDONLY | os.O_CLOEXEC)
        try:
            os.fchdir(new)
            self.sys.pivot_root(".", ".")
            os.fchdir(old)
            self.sys.mount(None, ".", None, MS_SLAVE | MS_REC)
            self.sys.umount2(".", MNT_DETACH)
        finally:
            os.close(old)
            os.close(new)
        os.chdir("/")

    # ---- after pivot_root ----
    def finalize(self) -> None:
        for p in self.linux.get("readonlyPaths") or []:
            self._readonly(p)
        for p in self.linux.get("maskedPaths") or []:
            self._mask(p)
        if (self.spec.get("root") or {}).get("readonly"):
            self.sys.mount(None, "/", None, MS_BIND | MS_REMOUNT | MS_RDONLY)

    def _readonly(self, path: str) -> None:
        if not os.path.exists(path):
            return
        self.sys.mount(path, path, None, MS_BIND | MS_REC)
        self.sys.mount(None, path, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC | _kept_flags(path))

    def _mask(self, path: str) -> None:
        if not os.path.exists(path):
            return
        if os.path.isdir(path):
            self.sys.mount("tmpfs", path, "tmpfs", MS_RDONLY)
        else:
            self.sys.mount("/dev/null", path, None, MS_BIND)
