"""Linux capability names <-> bit numbers, and applying an OCI capability set."""

from __future__ import annotations

from sampan.errors import InvalidArgument
from sampan.runtime.syscalls import (PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, PR_CAPBSET_DROP,
                                     PR_SET_KEEPCAPS)

CAP_NAMES = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
    "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
    "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
    "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
]
CAP_NUMBERS = {name: i for i, name in enumerate(CAP_NAMES)}


def last_cap() -> int:
    try:
        with open("/proc/sys/kernel/cap_last_cap") as f:
            return int(f.read())
    except OSError:
        return len(CAP_NAMES) - 1


def cap_number(name: str) -> int:
    key = name.upper()
    if not key.startswith("CAP_"):
        key = "CAP_" + key
    try:
        return CAP_NUMBERS[key]
    except KeyError:
        raise InvalidArgument(f"unknown capability {name!r} in the container config") from None


def bounding_set(status: str = "/proc/self/status") -> list[str]:
    """The capabilities this process may still give (its CapBnd), in number order: what
    `--cap-add ALL` and `--privileged` mean (a VM's root may lack some, e.g. CAP_SYS_RESOURCE)."""
    with open(status) as f:
        for line in f:
            if line.startswith("CapBnd:"):
                bits = int(line.split()[1], 16)
                return [n for i, n in enumerate(CAP_NAMES) if bits >> i & 1]
    return list(CAP_NAMES)


def normalize(name: str, available: list[str] | None = None) -> str:
    """Docker's spelling rules for --cap-add/--cap-drop: case-insensitive, CAP_ optional,
    ALL kept. With `available`, a capability outside it is refused (as Docker does)."""
    key = name.strip().upper()
    if key == "ALL":
        return key
    if not key.startswith("CAP_"):
        key = "CAP_" + key
    if key not in CAP_NUMBERS:
        raise InvalidArgument(f'unknown capability "{key}": see `man 7 capabilities` for the names')
    if available is not None and key not in available:
        raise InvalidArgument(f'capability "{key}" is not available: sampan itself does not hold it '
                              "(it is not in its bounding set)")
    return key


def mask(names: list[str] | None) -> int:
    m = 0
    for n in names or []:
        m |= 1 << cap_number(n)
    return m


def unknown_caps(caps: dict) -> list[str]:
    bad = []
    for names in caps.values():
        for n in names or []:
            key = n.upper() if n.upper().startswith("CAP_") else "CAP_" + n.upper()
            if key not in CAP_NUMBERS:
                bad.append(n)
    return bad


def drop_bounding(sys, caps: dict) -> None:
    """Drop from the bounding set what the spec does not list (needs CAP_SETPCAP, so early)."""
    keep = mask(caps.get("bounding"))
    for i in range(last_cap() + 1):
        if not keep & (1 << i):
            sys.prctl(PR_CAPBSET_DROP, i)


def keep_caps_across_setuid(sys) -> None:
    sys.prctl(PR_SET_KEEPCAPS, 1)


def apply_sets(sys, caps: dict) -> None:
    """Set effective/permitted/inheritable exactly, then raise the ambient ones."""
    sys.capset(mask(caps.get("effective")), mask(caps.get("permitted")),
               mask(caps.get("inheritable")))
    for n in caps.get("ambient") or []:
        sys.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap_number(n))
