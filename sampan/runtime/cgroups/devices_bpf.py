"""Device rules on cgroup v2: a BPF_PROG_TYPE_CGROUP_DEVICE program built from the OCI rules.

cgroup v2 has no devices.allow/deny files; the kernel asks an attached BPF program
instead. Rules are evaluated as on v1 (deny by default, the last matching rule wins),
so the program tests them in reverse order and the first match returns.
"""

from __future__ import annotations

import ctypes
import os
import struct

from sampan.errors import InvalidArgument, KernelFeatureMissing, RuntimeFailure

SYS_BPF = 321  # x86_64
BPF_PROG_LOAD = 5
BPF_PROG_ATTACH = 8
BPF_PROG_TYPE_CGROUP_DEVICE = 15
BPF_CGROUP_DEVICE = 6
BPF_F_ALLOW_MULTI = 2

DEV_BLOCK, DEV_CHAR = 1, 2
ACC_MKNOD, ACC_READ, ACC_WRITE = 1, 2, 4
ACCESS = {"m": ACC_MKNOD, "r": ACC_READ, "w": ACC_WRITE}

# opcodes
LDXW = 0x61        # dst = *(u32 *)(src + off)
AND32_K = 0x54     # dst &= imm
RSH32_K = 0x74     # dst >>= imm
MOV64_X = 0xBF     # dst = src
MOV64_K = 0xB7     # dst = imm
JNE_K = 0x55       # if dst != imm: pc += off
EXIT = 0x95


def insn(code: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    return struct.pack("<BBhi", code, (src << 4) | dst, off, imm)


def _rule_block(rule: dict) -> tuple[list[bytes], bool]:
    """Instructions that return allow/deny when the rule matches, else fall through;
    and whether the rule matches every request (nothing after it can run)."""
    checks: list[tuple[int, int, int]] = []  # (opcode, dst, imm) conditional skips
    pre: list[bytes] = []
    kind = rule.get("type") or "a"
    if kind not in ("a", "b", "c"):
        raise InvalidArgument(f"device rule type {kind!r} must be a, b or c")
    if kind != "a":
        checks.append((JNE_K, 2, DEV_BLOCK if kind == "b" else DEV_CHAR))
    access = 0
    for ch in rule.get("access") or "rwm":
        if ch not in ACCESS:
            raise InvalidArgument(f"device rule access {rule.get('access')!r} must use r, w, m")
        access |= ACCESS[ch]
    if access != ACC_MKNOD | ACC_READ | ACC_WRITE:
        # the request must ask for nothing outside the rule's access
        pre = [insn(MOV64_X, 1, 3), insn(AND32_K, 1, imm=~access & 0xFFFF)]
        checks.append((JNE_K, 1, 0))
    if rule.get("major") not in (None, -1):
        checks.append((JNE_K, 4, int(rule["major"])))
    if rule.get("minor") not in (None, -1):
        checks.append((JNE_K, 5, int(rule["minor"])))
    tail = [insn(MOV64_K, 0, imm=1 if rule.get("allow") else 0), insn(EXIT)]
    out = list(pre)
    for i, (op, dst, imm) in enumerate(checks):
        remaining = len(checks) - i - 1
        out.append(insn(op, dst, off=remaining + len(tail), imm=imm))
    return out + tail, not checks


def build_program(rules: list[dict]) -> bytes:
    prog = [
        insn(LDXW, 2, 1, 0), insn(AND32_K, 2, imm=0xFFFF),   # r2 = device type
        insn(LDXW, 3, 1, 0), insn(RSH32_K, 3, imm=16),        # r3 = requested access
        insn(LDXW, 4, 1, 4),                                  # r4 = major
        insn(LDXW, 5, 1, 8),                                  # r5 = minor
    ]
    for rule in reversed(rules):
        block, catch_all = _rule_block(rule)
        prog += block
        if catch_all:  # the verifier refuses unreachable code after it
            return b"".join(prog)
    prog += [insn(MOV64_K, 0, imm=0), insn(EXIT)]  # nothing matched: deny
    return b"".join(prog)


def _bpf(cmd: int, attr: ctypes.Array) -> int:
    libc = ctypes.CDLL(None, use_errno=True)
    rc = libc.syscall(ctypes.c_long(SYS_BPF), ctypes.c_int(cmd), attr, ctypes.c_uint(len(attr)))
    if rc < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return rc


def attach(cgroup_dir: str, rules: list[dict]) -> None:
    """Load the program for `rules` and attach it to the cgroup v2 directory."""
    code = build_program(rules)
    insns = ctypes.create_string_buffer(code, len(code))
    license_ = ctypes.create_string_buffer(b"Apache")
    attr = ctypes.create_string_buffer(128)
    struct.pack_into("<IIQQ", attr, 0, BPF_PROG_TYPE_CGROUP_DEVICE, len(code) // 8,
                     ctypes.addressof(insns), ctypes.addressof(license_))
    try:
        prog_fd = _bpf(BPF_PROG_LOAD, attr)
    except OSError as e:
        raise KernelFeatureMissing(f"cannot load the device-rules BPF program: {e.strerror}") from None
    dir_fd = os.open(cgroup_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        attr = ctypes.create_string_buffer(128)
        struct.pack_into("<IIII", attr, 0, dir_fd, prog_fd, BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI)
        try:
            _bpf(BPF_PROG_ATTACH, attr)
        except OSError as e:
            raise RuntimeFailure(f"cannot attach device rules to {cgroup_dir}: {e.strerror}") from None
    finally:
        os.close(dir_fd)
        os.close(prog_fd)  # the attachment keeps the program alive
