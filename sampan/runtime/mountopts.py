"""OCI mount options -> mount(2) flags, propagation flags and the data string."""

from __future__ import annotations


MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_SYNCHRONOUS = 16
MS_REMOUNT = 32
MS_MANDLOCK = 64
MS_DIRSYNC = 128
MS_NOATIME = 1024
MS_NODIRATIME = 2048
MS_BIND = 4096
MS_REC = 16384
MS_UNBINDABLE = 1 << 17
MS_PRIVATE = 1 << 18
MS_SLAVE = 1 << 19
MS_SHARED = 1 << 20
MS_RELATIME = 1 << 21
MS_STRICTATIME = 1 << 24
MNT_DETACH = 2

# option -> (clear?, flag)
FLAGS = {
    "ro": (False, MS_RDONLY), "rw": (True, MS_RDONLY),
    "nosuid": (False, MS_NOSUID), "suid": (True, MS_NOSUID),
    "nodev": (False, MS_NODEV), "dev": (True, MS_NODEV),
    "noexec": (False, MS_NOEXEC), "exec": (True, MS_NOEXEC),
    "sync": (False, MS_SYNCHRONOUS), "async": (True, MS_SYNCHRONOUS),
    "dirsync": (False, MS_DIRSYNC), "remount": (False, MS_REMOUNT),
    "mand": (False, MS_MANDLOCK), "nomand": (True, MS_MANDLOCK),
    "noatime": (False, MS_NOATIME), "atime": (True, MS_NOATIME),
    "nodiratime": (False, MS_NODIRATIME), "diratime": (True, MS_NODIRATIME),
    "relatime": (False, MS_RELATIME), "norelatime": (True, MS_RELATIME),
    "strictatime": (False, MS_STRICTATIME), "nostrictatime": (True, MS_STRICTATIME),
    "bind": (False, MS_BIND), "rbind": (False, MS_BIND | MS_REC),
}
PROPAGATION = {
    "private": MS_PRIVATE, "rprivate": MS_PRIVATE | MS_REC,
    "shared": MS_SHARED, "rshared": MS_SHARED | MS_REC,
    "slave": MS_SLAVE, "rslave": MS_SLAVE | MS_REC,
    "unbindable": MS_UNBINDABLE, "runbindable": MS_UNBINDABLE | MS_REC,
}


class MountOptions:
    """A plain class, not a dataclass: the start path imports this module."""

    __slots__ = ("flags", "propagation", "data")

    def __init__(self, flags: int = 0, propagation: list[int] | None = None,
                 data: list[str] | None = None) -> None:
        self.flags = flags
        self.propagation = [] if propagation is None else propagation
        self.data = [] if data is None else data

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MountOptions):
            return NotImplemented
        return (self.flags, self.propagation, self.data) == \
            (other.flags, other.propagation, other.data)

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return (f"MountOptions(flags={self.flags!r}, propagation={self.propagation!r}, "
                f"data={self.data!r})")

    @property
    def is_bind(self) -> bool:
        return bool(self.flags & MS_BIND)

    @property
    def data_str(self) -> str | None:
        return ",".join(self.data) or None


def parse_options(options: list[str] | None) -> MountOptions:
    out = MountOptions()
    for opt in options or []:
        if opt in FLAGS:
            clear, flag = FLAGS[opt]
            out.flags = out.flags & ~flag if clear else out.flags | flag
        elif opt in PROPAGATION:
            out.propagation.append(PROPAGATION[opt])
        else:
            out.data.append(opt)
    return out
