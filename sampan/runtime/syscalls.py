"""Every kernel call the native runtime makes that Python's os module lacks.

One class over libc (ctypes), raising OSError with errno like the os module.
RecordingSyscalls is its test double: it records each call so the setup logic
is unit-tested without root (youki's habit).
"""

from __future__ import annotations

import ctypes
import os

TYPE_CHECKING = False  # typing costs ~3 ms to import; its names serve annotations only
if TYPE_CHECKING:
    from typing import Any

# clone/unshare/setns flags
CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

# prctl options
PR_SET_PDEATHSIG = 1
PR_SET_KEEPCAPS = 8
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_RAISE = 2
PR_CAP_AMBIENT_CLEAR_ALL = 4

PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2

_CAP_V3 = 0x20080522


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def _b(s: str | bytes | None) -> bytes | None:
    if s is None:
        return None
    return s if isinstance(s, bytes) else os.fsencode(s)


class Syscalls:
    """The real thing. Loaded lazily: nothing happens at import time."""

    def __init__(self) -> None:
        self._libc = ctypes.CDLL(None, use_errno=True)

    def _check(self, rc: int, what: str, path: Any = None) -> int:
        if rc < 0:
            err = ctypes.get_errno()
            raise OSError(err, f"{what}: {os.strerror(err)}", os.fsdecode(path) if path else None)
        return rc

    def unshare(self, flags: int) -> None:
        self._check(self._libc.unshare(ctypes.c_int(flags)), "unshare")

    def setns(self, fd: int, nstype: int = 0) -> None:
        self._check(self._libc.setns(ctypes.c_int(fd), ctypes.c_int(nstype)), "setns")

    def mount(self, source: str | None, target: str, fstype: str | None, flags: int = 0,
              data: str | None = None) -> None:
        rc = self._libc.mount(_b(source), _b(target), _b(fstype), ctypes.c_ulong(flags), _b(data))
        self._check(rc, f"mount {fstype or 'bind'} on", target)

    def umount2(self, target: str, flags: int = 0) -> None:
        self._check(self._libc.umount2(_b(target), ctypes.c_int(flags)), "umount", target)

    def pivot_root(self, new_root: str, put_old: str) -> None:
        nr = self._libc.syscall(ctypes.c_long(155), _b(new_root), _b(put_old))  # x86_64 SYS_pivot_root
        self._check(nr, "pivot_root", new_root)

    def sethostname(self, name: str) -> None:
        b = name.encode()
        self._check(self._libc.sethostname(b, ctypes.c_size_t(len(b))), "sethostname")

    def setdomainname(self, name: str) -> None:
        b = name.encode()
        self._check(self._libc.setdomainname(b, ctypes.c_size_t(len(b))), "setdomainname")

    def prctl(self, option: int, a2: int = 0, a3: int = 0, a4: int = 0, a5: int = 0) -> int:
        args = [ctypes.c_ulong(x) for x in (a2, a3, a4, a5)]
        return self._check(self._libc.prctl(ctypes.c_int(option), *args), f"prctl({option})")

    def capset(self, effective: int, permitted: int, inheritable: int) -> None:
        hdr = _CapHeader(_CAP_V3, 0)
        data = (_CapData * 2)()
        for i in range(2):
            shift = 32 * i
            data[i].effective = (effective >> shift) & 0xFFFFFFFF
            data[i].permitted = (permitted >> shift) & 0xFFFFFFFF
            data[i].inheritable = (inheritable >> shift) & 0xFFFFFFFF
        self._check(self._libc.capset(ctypes.byref(hdr), data), "capset")

    def capget(self) -> tuple[int, int, int]:
        hdr = _CapHeader(_CAP_V3, 0)
        data = (_CapData * 2)()
        self._check(self._libc.capget(ctypes.byref(hdr), data), "capget")
        eff = data[0].effective | (data[1].effective << 32)
        perm = data[0].permitted | (data[1].permitted << 32)
        inh = data[0].inheritable | (data[1].inheritable << 32)
        return eff, perm, inh

    def mknod(self, path: str, mode: int, device: int) -> None:
        os.mknod(path, mode, device)

    def seccomp_filter(self, bpf: bytes) -> None:
        """Install a classic BPF seccomp program (8-byte sock_filter entries)."""
        buf = ctypes.create_string_buffer(bpf, len(bpf))
        prog = _SockFprog(len(bpf) // 8, ctypes.cast(buf, ctypes.c_void_p))
        rc = self._libc.prctl(ctypes.c_int(PR_SET_SECCOMP), ctypes.c_ulong(SECCOMP_MODE_FILTER),
                              ctypes.byref(prog), ctypes.c_ulong(0), ctypes.c_ulong(0))
        self._check(rc, "prctl(PR_SET_SECCOMP)")


class RecordingSyscalls:
    """Test double: records (name, args) and succeeds, unless told to fail a call."""

    def __init__(self, fail: dict[str, int] | None = None) -> None:
        self.calls: list[tuple] = []
        self.fail = dict(fail or {})  # call name -> errno to raise

    def _rec(self, name: str, *args: Any) -> None:
        self.calls.append((name, *args))
        if name in self.fail:
            err = self.fail[name]
            raise OSError(err, f"{name}: {os.strerror(err)}")

    def names(self) -> list[str]:
        return [c[0] for c in self.calls]

    def unshare(self, flags: int) -> None:
        self._rec("unshare", flags)

    def setns(self, fd: int, nstype: int = 0) -> None:
        self._rec("setns", fd, nstype)

    def mount(self, source, target, fstype, flags=0, data=None) -> None:
        self._rec("mount", source, target, fstype, flags, data)

    def umount2(self, target, flags=0) -> None:
        self._rec("umount2", target, flags)

    def pivot_root(self, new_root, put_old) -> None:
        self._rec("pivot_root", new_root, put_old)

    def sethostname(self, name) -> None:
        self._rec("sethostname", name)

    def setdomainname(self, name) -> None:
        self._rec("setdomainname", name)

    def prctl(self, option, a2=0, a3=0, a4=0, a5=0) -> int:
        self._rec("prctl", option, a2, a3, a4, a5)
        return 0

    def capset(self, effective, permitted, inheritable) -> None:
        self._rec("capset", effective, permitted, inheritable)

    def mknod(self, path, mode, device) -> None:
        self._rec("mknod", path, mode, device)

    def seccomp_filter(self, bpf: bytes) -> None:
        self._rec("seccomp_filter", len(bpf))

    def capget(self):
        self._rec("capget")
        return (0, 0, 0)

