"""--sysctl: only the kernel settings a container's own namespaces scope (Docker's list:
net.* with a network namespace of its own, the IPC ones with its own IPC namespace);
anything else would change the host for everyone."""

from __future__ import annotations

import re

from sampan.errors import InvalidArgument
from sampan.specgen.units import shown

_IPC = {"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall",
        "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"}
# The key becomes a path under the container's /proc/sys: no '/' and no empty component.
# (A pattern, not compiled at import: `run` imports this module; re caches it at first use.)
_KEY = r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+"


def parse_sysctls(items, network: str, ipc_mode: str | None) -> dict[str, str]:
    """KEY=VALUE strings (the CLI) or a map (the API) -> {key: value}, checked."""
    pairs = []
    if isinstance(items, dict):
        pairs = list(items.items())
    else:
        for item in items:
            key, eq, value = item.partition("=")
            if not eq or not key:
                raise InvalidArgument(f"sysctl {shown(item)} is not allowed")
            pairs.append((key, value))
    out = {}
    for key, value in pairs:
        if not isinstance(key, str) or not isinstance(value, str):
            raise InvalidArgument("Sysctls must map strings to strings")
        ipc = key in _IPC or key.startswith("fs.mqueue.")
        if not (ipc or key.startswith("net.")) or not re.fullmatch(_KEY, key):
            raise InvalidArgument(f"sysctl {shown(key + '=' + value)} is not allowed: only namespaced "
                                  "sysctls (net.*, kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*)")
        if "\n" in value or "\0" in value:
            raise InvalidArgument(f"sysctl {key}: the value must be one line")
        if not ipc and (network == "host" or network.startswith("container:")):
            raise InvalidArgument(f"sysctl {key!r} is not allowed with --network {network}: "
                                  "the container has no network namespace of its own")
        if ipc and ipc_mode and (ipc_mode == "host" or ipc_mode.startswith("container:")):
            raise InvalidArgument(f"sysctl {key!r} is not allowed with --ipc {ipc_mode}: "
                                  "the container has no IPC namespace of its own")
        out[key] = value
    return out
