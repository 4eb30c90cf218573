"""Host device nodes for a container: `--device HOST[:CONTAINER][:rwm]` and `--privileged`.

Each becomes an OCI linux.devices entry (the runtime makes the node in the
container's /dev with the host's major and minor) and, for --device, a device
cgroup rule that lets the container use it. Read at every start, as Docker
does: a device's numbers may change across a reboot.
"""

from __future__ import annotations

import os
import stat

from sampan.errors import InvalidArgument

_KINDS = {stat.S_IFCHR: "c", stat.S_IFBLK: "b", stat.S_IFIFO: "p"}
# not walked for --privileged (containerd's list): the container has its own of these
_SKIPPED_DIRS = {"pts", "shm", "fd", "mqueue", ".lxc", ".lxd-mounts", ".udev"}


def valid_mode(mode: str) -> bool:
    """Docker's cgroup permissions: some of r, w, m, each once."""
    return bool(mode) and len(mode) <= 3 and set(mode) <= set("rwm") and len(set(mode)) == len(mode)


def parse_device(spec: str) -> dict:
    """`--device` as Docker parses it -> {PathOnHost, PathInContainer, CgroupPermissions}."""
    parts = spec.split(":")
    host, dest, perms = parts[0], "", "rwm"
    if len(parts) == 3:
        dest, perms = parts[1], parts[2]
        if not valid_mode(perms):
            raise InvalidArgument(f"invalid --device {spec!r}: permissions {perms!r} must be some of r, w, m")
    elif len(parts) == 2:
        if valid_mode(parts[1]):
            perms = parts[1]
        else:
            dest = parts[1]
    elif len(parts) != 1:
        raise InvalidArgument(f"invalid --device {spec!r}: expected HOST[:CONTAINER][:PERMISSIONS]")
    dest = dest or host
    for what, path in (("host", host), ("container", dest)):
        if not path.startswith("/"):
            raise InvalidArgument(f"invalid --device {spec!r}: the {what} path {path!r} is not absolute")
    return {"PathOnHost": host, "PathInContainer": os.path.normpath(dest), "CgroupPermissions": perms}


def device_node(path: str) -> dict | None:
    """The OCI linux.devices entry for a device node at path (not followed), or None."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    kind = _KINDS.get(stat.S_IFMT(st.st_mode))
    if kind is None:
        return None
    return {"path": path, "type": kind, "major": os.major(st.st_rdev), "minor": os.minor(st.st_rdev),
            "fileMode": st.st_mode & 0o777, "uid": st.st_uid, "gid": st.st_gid}


def _rule(dev: dict, access: str) -> dict:
    return {"allow": True, "type": dev["type"], "major": dev["major"], "minor": dev["minor"], "access": access}


def mapped_devices(mapping: dict) -> tuple[list[dict], list[dict]]:
    """(linux.devices, device cgroup rules) for one --device; a directory maps every device
    node under it. A host path that names no device is an error, in one line."""
    host, dest, perms = mapping["PathOnHost"], mapping["PathInContainer"], mapping["CgroupPermissions"]
    resolved = os.path.realpath(host) if os.path.islink(host) else host
    dev = device_node(resolved)
    if dev is not None:
        dev["path"] = dest
        return [dev], [_rule(dev, perms)]
    devices: list[dict] = []
    if os.path.isdir(resolved):
        for dirpath, dirnames, filenames in os.walk(resolved):
            dirnames.sort()
            for name in sorted(filenames):
                found = device_node(os.path.join(dirpath, name))
                if found is not None:
                    found["path"] = os.path.join(dest, os.path.relpath(found["path"], resolved))
                    devices.append(found)
    if devices:
        return devices, [_rule(d, perms) for d in devices]
    why = "no such file or directory" if not os.path.lexists(host) else "not a device node"
    raise InvalidArgument(f"cannot add device {host}: {why} on the host")


def host_devices(root: str = "/dev") -> list[dict]:
    """Every character and block device under the host's /dev (for --privileged), as
    containerd finds them: not pts, shm, mqueue, fd, console, or FIFOs."""
    out: list[dict] = []
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError:
        return out
    for e in entries:
        if e.is_dir(follow_symlinks=False):
            if e.name not in _SKIPPED_DIRS:
                out += host_devices(e.path)
        elif e.name != "console":
            dev = device_node(e.path)
            if dev is not None and dev["type"] != "p":
                out.append(dev)
    return out
