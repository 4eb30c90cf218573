"""Docker's defaults for a container's OCI spec (facts from Docker's docs/profile)."""

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# Docker's default capability set: 14 capabilities, inheritable left empty.
DEFAULT_CAPS = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
    "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
]

MASKED_PATHS = [
    "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
    "/sys/firmware", "/sys/devices/virtual/powercap",
]

READONLY_PATHS = [
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
]


def base_mounts(writable_sys: bool = False) -> list[dict]:
    """The kernel filesystems every container gets, in mount order (/sys and its cgroup
    read-write only for --privileged)."""
    ro = [] if writable_sys else ["ro"]
    return [
        {"destination": "/proc", "type": "proc", "source": "proc",
         "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs",
         "options": ["nosuid", "noexec", "nodev", *ro]},
        {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
         "options": [*ro, "nosuid", "noexec", "nodev"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
         "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
         "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
    ]


def default_rlimits() -> list[dict]:
    """Docker's open-files limit (1048576), capped at what this process may grant:
    without CAP_SYS_RESOURCE a hard limit can only be lowered."""
    import resource

    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    n = 1048576 if hard == resource.RLIM_INFINITY else min(1048576, hard)
    return [{"type": "RLIMIT_NOFILE", "hard": n, "soft": n}]


def _dev(kind: str, major: int | None, minor: int | None, access: str = "rwm") -> dict:
    d = {"allow": True, "type": kind, "access": access}
    if major is not None:
        d["major"] = major
    if minor is not None:
        d["minor"] = minor
    return d


def device_rules() -> list[dict]:
    """Docker's device cgroup: deny all, then mknod of anything, and use of the standard devices."""
    return [
        {"allow": False, "access": "rwm"},
        _dev("c", None, None, "m"), _dev("b", None, None, "m"),
        _dev("c", 1, 3), _dev("c", 1, 5), _dev("c", 1, 7), _dev("c", 1, 8), _dev("c", 1, 9),
        _dev("c", 5, 0), _dev("c", 5, 1), _dev("c", 5, 2), _dev("c", 136, None), _dev("c", 10, 200),
    ]
