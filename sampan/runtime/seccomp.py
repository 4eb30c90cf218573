"""linux.seccomp from the OCI spec: compiled to BPF with libseccomp (ctypes) in the
runtime before it forks (the container's root has no libseccomp), installed by the
child with prctl(PR_SET_SECCOMP) just before execve (see process.py).

Compiling Docker's default profile costs ~12 ms here, a quarter of a whole `run`:
compile_cached() keeps each program in a file named by the digest of what decides
its bytes (the profile, the machine, the kernel and libseccomp's version).
"""

from __future__ import annotations

import ctypes
import errno as errno_mod
import os

from sampan.errors import InvalidArgument, KernelFeatureMissing

ACT_KILL_THREAD = 0x00000000
ACT_KILL_PROCESS = 0x80000000
ACT_TRAP = 0x00030000
ACT_ERRNO = 0x00050000
ACT_TRACE = 0x7FF00000
ACT_LOG = 0x7FFC0000
ACT_ALLOW = 0x7FFF0000

OPS = {"SCMP_CMP_NE": 1, "SCMP_CMP_LT": 2, "SCMP_CMP_LE": 3, "SCMP_CMP_EQ": 4, "SCMP_CMP_GE": 5,
       "SCMP_CMP_GT": 6, "SCMP_CMP_MASKED_EQ": 7}
# AUDIT_ARCH_* values, which are libseccomp's SCMP_ARCH_* tokens
ARCHES = {"SCMP_ARCH_X86": 0x40000003, "SCMP_ARCH_X86_64": 0xC000003E, "SCMP_ARCH_X32": 0x4000003E,
          "SCMP_ARCH_AARCH64": 0xC00000B7, "SCMP_ARCH_ARM": 0x40000028,
          "SCMP_ARCH_MIPS": 0x00000008, "SCMP_ARCH_MIPS64": 0x80000008, "SCMP_ARCH_MIPS64N32": 0xA0000008,
          "SCMP_ARCH_MIPSEL": 0x40000008, "SCMP_ARCH_MIPSEL64": 0xC0000008,
          "SCMP_ARCH_MIPSEL64N32": 0xE0000008, "SCMP_ARCH_PPC": 0x00000014, "SCMP_ARCH_PPC64": 0x80000015,
          "SCMP_ARCH_PPC64LE": 0xC0000015, "SCMP_ARCH_S390": 0x00000016, "SCMP_ARCH_S390X": 0x80000016,
          "SCMP_ARCH_PARISC": 0x0000000F, "SCMP_ARCH_PARISC64": 0x8000000F,
          "SCMP_ARCH_RISCV64": 0xC00000F3, "SCMP_ARCH_LOONGARCH64": 0xC0000102}
SCMP_FLTATR_CTL_NNP = 3
SCMP_FLTATR_CTL_OPTIMIZE = 8  # libseccomp >= 2.5; 2: syscalls sorted into a binary tree
SCMP_ERROR = -1  # __NR_SCMP_ERROR: a name this libseccomp does not know


class _ArgCmp(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int), ("datum_a", ctypes.c_uint64),
                ("datum_b", ctypes.c_uint64)]


def action(name: str, errno_ret: int | None = None) -> int:
    if name == "SCMP_ACT_ERRNO":
        return ACT_ERRNO | ((errno_mod.EPERM if errno_ret is None else errno_ret) & 0xFFFF)
    if name == "SCMP_ACT_TRACE":
        return ACT_TRACE | ((errno_mod.EPERM if errno_ret is None else errno_ret) & 0xFFFF)
    table = {"SCMP_ACT_KILL": ACT_KILL_THREAD, "SCMP_ACT_KILL_THREAD": ACT_KILL_THREAD,
             "SCMP_ACT_KILL_PROCESS": ACT_KILL_PROCESS, "SCMP_ACT_TRAP": ACT_TRAP,
             "SCMP_ACT_LOG": ACT_LOG, "SCMP_ACT_ALLOW": ACT_ALLOW}
    try:
        return table[name]
    except KeyError:
        raise InvalidArgument(f"unsupported seccomp action {name!r}") from None


def check(profile: dict) -> str | None:
    """Validation: None or one line saying what the runtime cannot do with this profile."""
    try:
        action(profile.get("defaultAction", ""), profile.get("defaultErrnoRet"))
        for rule in profile.get("syscalls") or []:
            action(rule.get("action", ""), rule.get("errnoRet"))
            for a in rule.get("args") or []:
                if a.get("op") not in OPS:
                    return f"unsupported seccomp operator {a.get('op')!r}"
    except InvalidArgument as e:
        return e.message
    for arch in profile.get("architectures") or []:
        if arch not in ARCHES:
            return f"unsupported seccomp architecture {arch!r}"
    if profile.get("listenerPath") or profile.get("flags"):
        return "seccomp listenerPath and flags are not supported by the native runtime"
    return None


class _Version(ctypes.Structure):
    _fields_ = [("major", ctypes.c_uint), ("minor", ctypes.c_uint), ("micro", ctypes.c_uint)]


class _Lib:
    def __init__(self) -> None:
        try:
            lib = ctypes.CDLL("libseccomp.so.2", use_errno=True)
        except OSError:
            raise KernelFeatureMissing("libseccomp.so.2 is not installed: apt-get install libseccomp2") from None
        lib.seccomp_init.restype = ctypes.c_void_p
        lib.seccomp_init.argtypes = [ctypes.c_uint32]
        lib.seccomp_release.argtypes = [ctypes.c_void_p]
        lib.seccomp_export_bpf.argtypes = [ctypes.c_void_p, ctypes.c_int]
        lib.seccomp_arch_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
        lib.seccomp_attr_set.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_uint32]
        lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
        lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int,
                                               ctypes.c_uint, ctypes.POINTER(_ArgCmp)]
        lib.seccomp_version.restype = ctypes.POINTER(_Version)
        self.lib = lib

    def version(self) -> str:
        v = self.lib.seccomp_version().contents
        return f"{v.major}.{v.minor}.{v.micro}"


_LIB: _Lib | None = None


def library() -> _Lib:
    """libseccomp, opened once per process (the zygote opens it for every command it forks)."""
    global _LIB
    if _LIB is None:
        _LIB = _Lib()
    return _LIB


def warm(_=None) -> None:
    """For the zygote: open libseccomp ahead, so a start pays neither the dlopen nor its faults."""
    try:
        library()
    except KernelFeatureMissing:
        pass


CACHE_ENTRIES = 64  # distinct programs kept; each is a few KiB


def cache_key(profile: dict, lib_version: str) -> bytes:
    """Everything that decides the program's bytes, as one line (JSON has no raw newline)."""
    import json
    u = os.uname()
    return json.dumps([2, u.machine, u.release, lib_version, profile], sort_keys=True,
                      separators=(",", ":")).encode()


def compile_cached(profile: dict, cache_dir) -> bytes:
    """compile_bpf(profile), from cache_dir when this profile was compiled here before.

    An entry is named by a CRC of its key and holds the whole key before the program:
    a hit compares the key byte for byte, so a collision costs a compile, never a wrong
    filter; and no hashlib (OpenSSL) import on the start path."""
    if cache_dir is None:
        return compile_bpf(profile)
    import zlib
    lib = library()
    key = cache_key(profile, lib.version())
    path = os.path.join(cache_dir, f"{zlib.crc32(key):08x}-{len(key)}.bpf")
    try:
        with open(path, "rb") as f:
            data = f.read()
        head, _, bpf = data.partition(b"\n")
        if head == key and bpf and len(bpf) % 8 == 0:
            return bpf
    except OSError:
        pass
    bpf = compile_bpf(profile, lib)
    try:
        _store(path, key + b"\n" + bpf)
    except OSError:
        pass  # a cache that cannot be written only costs time
    return bpf


def _store(path: str, data: bytes) -> None:
    from pathlib import Path

    from sampan.state.atomic import atomic_write_bytes
    target = Path(path)
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    atomic_write_bytes(target, data, mode=0o600, durable=False)
    entries = [p for p in target.parent.iterdir() if p.suffix == ".bpf"]
    if len(entries) > CACHE_ENTRIES:  # drop the least recently written
        def mtime(p) -> float:
            try:
                return p.stat().st_mtime
            except OSError:
                return 0.0
        for old in sorted(entries, key=mtime)[:len(entries) - CACHE_ENTRIES]:
            if old != target:
                old.unlink(missing_ok=True)


def compile_bpf(profile: dict, lib: _Lib | None = None) -> bytes:
    """The profile as a classic BPF program (struct sock_filter array)."""
    cdll = (lib or library()).lib
    default = action(profile["defaultAction"], profile.get("defaultErrnoRet"))
    ctx = cdll.seccomp_init(default)
    if not ctx:
        raise OSError(errno_mod.EINVAL, "seccomp_init failed")
    try:
        cdll.seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0)  # no_new_privs is the spec's call, not libseccomp's
        # A binary tree rather than a list: the kernel runs the filter for every syscall number
        # when it is attached (its action cache), ~1 ms instead of ~2 for Docker's profile here.
        # An older libseccomp refuses the attribute and builds the list.
        cdll.seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2)
        for arch in profile.get("architectures") or []:
            rc = cdll.seccomp_arch_add(ctx, ARCHES[arch])
            # EDOM: the other byte order (s390x on x86): no process of it can run here
            if rc < 0 and rc not in (-errno_mod.EEXIST, -errno_mod.EDOM):
                raise OSError(-rc, f"seccomp_arch_add {arch}")
        for rule in profile.get("syscalls") or []:
            act = action(rule["action"], rule.get("errnoRet"))
            if act == default:
                continue  # libseccomp refuses rules that repeat the default action
            args = rule.get("args") or []
            cmps = (_ArgCmp * max(len(args), 1))()
            for i, a in enumerate(args):
                cmps[i] = _ArgCmp(int(a["index"]), OPS[a["op"]], int(a.get("value", 0)), int(a.get("valueTwo", 0)))
            for name in rule.get("names") or []:
                nr = cdll.seccomp_syscall_resolve_name(name.encode())
                if nr == SCMP_ERROR:
                    continue  # unknown on this kernel/arch: skipped, as runc does
                rc = cdll.seccomp_rule_add_array(ctx, act, nr, len(args), cmps)
                if rc < 0:
                    raise OSError(-rc, f"seccomp rule for {name}: {errno_mod.errorcode.get(-rc, rc)}")
        fd = os.memfd_create("sampan-seccomp", os.MFD_CLOEXEC)
        try:
            rc = cdll.seccomp_export_bpf(ctx, fd)
            if rc < 0:
                raise OSError(-rc, "seccomp_export_bpf failed")
            os.lseek(fd, 0, os.SEEK_SET)
            chunks = []
            while chunk := os.read(fd, 65536):
                chunks.append(chunk)
            return b"".join(chunks)
        finally:
            os.close(fd)
    finally:
        cdll.seccomp_release(ctx)
