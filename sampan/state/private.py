"""Give a root made by an older sampan the modes a new one gets (once per root).

Older roots were 0755 with the database, every container's config.json (its -e
environment) and logs 0644: any local user could read an API token. New files get
private modes where they are made; this fixes the files made before, then writes
the marker (``Paths.ensure`` checks for it with one stat per command).

What is left as it is: everything a container sees as its own files (unpacked
layers' ``diff/``, a container's ``upper``/``work``/``rootfs``/``init``, a volume's
``_data``) keeps the image's modes, and the /etc files bind-mounted into a
container (hosts, hostname, resolv.conf) stay 0644, since the container's non-root
users must read them; the private dirs above them keep every host user out.
"""

from __future__ import annotations

import os
import stat

from sampan.state.paths import MODES_MARK, Paths

SECRET_FILE = 0o600
# The container's own view: never chmod these, nor anything under them.
_CONTAINER_OWNED = frozenset({"rootfs", "upper", "work", "init", "diff", "_data",
                              "hosts", "hostname", "resolv.conf"})


def tighten_root(paths: Paths) -> None:
    root = paths.root
    for name in ("sampan.db", "sampan.db-wal", "sampan.db-shm", "sampan.db-journal",
                 "index.json", "oci-layout"):
        _tighten(root / name)
    # blobs/sha256/*, layers/<chain>/complete, containers/<id>/*, volumes/<name>/*,
    # networks/ipam/<bridge>/* (CNI's address leases): a few levels down at most, so this
    # stays cheap however big the store is. tmp/ holds build steps' scratch trees (layer
    # contents): only the dir itself.
    for top, depth in (("blobs", 2), ("layers", 2), ("containers", 2), ("volumes", 2),
                       ("networks", 3), ("tmp", 0), ("libexec", 2)):
        _tighten_tree(str(root / top), depth)
    mark = root / MODES_MARK
    os.close(os.open(mark, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, SECRET_FILE))


def tighten_runroot(paths: Paths) -> None:
    """The run root of an older sampan (0755, found when it is tightened): attach sockets,
    locks, runtime state. The netns pins are the kernel's nsfs inodes: left alone."""
    for name in os.listdir(paths.runroot):
        if name != "netns":
            _tighten_tree(str(paths.runroot / name), 3)
    _tighten_tree(str(paths.runroot / "netns"), 0)


def _tighten_tree(path: str, depth: int) -> None:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(st.st_mode) or os.path.basename(path) in _CONTAINER_OWNED:
        return
    if stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode) or stat.S_ISSOCK(st.st_mode):
        _tighten(path, st)
    if stat.S_ISDIR(st.st_mode) and depth > 0:
        try:
            names = os.listdir(path)
        except OSError:
            return
        for name in names:
            _tighten_tree(os.path.join(path, name), depth - 1)


def _tighten(path, st: os.stat_result | None = None) -> None:
    """Drop the group and other bits (0644 -> 0600, 0755 -> 0700); symlinks are left."""
    try:
        if st is None:
            st = os.lstat(path)
        mode = stat.S_IMODE(st.st_mode)
        if not stat.S_ISLNK(st.st_mode) and mode & 0o077:
            os.chmod(path, mode & ~0o077)
    except FileNotFoundError:
        pass
