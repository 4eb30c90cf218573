"""linux.seccomp from the OCI spec: compiled to BPF with libseccomp (ctypes) in the
runtime before it forks (the container's root has no libseccomp), installed by the
child with prctl(PR_SET_SECCOMP) just before execve (see process.py).
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
ARCHES = {"SCMP_ARCH_X86": 0x40000003, "SCMP_ARCH_X86_64": 0xC000003E, "SCMP_ARCH_X32": 0x4000003E,
          "SCMP_ARCH_AARCH64": 0xC00000B7, "SCMP_ARCH_ARM": 0x40000028}
SCMP_FLTATR_CTL_NNP = 3
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
        self.lib = lib


def compile_bpf(profile: dict) -> bytes:
    """The profile as a classic BPF program (struct sock_filter array)."""
    lib = _Lib().lib
    default = action(profile["defaultAction"], profile.get("defaultErrnoRet"))
    ctx = lib.seccomp_init(default)
    if not ctx:
        raise OSError(errno_mod.EINVAL, "seccomp_init failed")
    try:
        lib.seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0)  # no_new_privs is the spec's call, not libseccomp's
        for arch in profile.get("architectures") or []:
            rc = lib.seccomp_arch_add(ctx, ARCHES[arch])
            if rc < 0 and rc != -errno_mod.EEXIST:
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
                nr = lib.seccomp_syscall_resolve_name(name.encode())
                if nr == SCMP_ERROR:
                    continue  # unknown on this kernel/arch: skipped, as runc does
                rc = lib.seccomp_rule_add_array(ctx, act, nr, len(args), cmps)
                if rc < 0:
                    raise OSError(-rc, f"seccomp rule for {name}: {errno_mod.errorcode.get(-rc, rc)}")
        fd = os.memfd_create("sampan-seccomp", os.MFD_CLOEXEC)
        try:
            rc = lib.seccomp_export_bpf(ctx, fd)
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
        lib.seccomp_release(ctx)
