import struct

import pytest

from sampan.errors import InvalidArgument
from sampan.runtime.cgroups.devices_bpf import EXIT, JNE_K, MOV64_K, build_program


def decode(prog: bytes) -> list[tuple[int, int, int, int]]:
    out = []
    for i in range(0, len(prog), 8):
        code, regs, off, imm = struct.unpack("<BBhi", prog[i:i + 8])
        out.append((code, regs & 0xF, off, imm))
    return out


def run(prog: bytes, dev_type: int, access: int, major: int, minor: int) -> int:
    """A tiny interpreter for the opcodes build_program emits, to check its logic without a kernel."""
    ins = decode(prog)
    ctx = [dev_type | (access << 16), major, minor]
    r = [0] * 11
    pc = 0
    while True:
        code, dst, off, imm = ins[pc]
        src = struct.unpack("<BBhi", prog[pc * 8:pc * 8 + 8])[1] >> 4
        pc += 1
        if code == 0x61:
            r[dst] = ctx[off // 4]
        elif code == 0x54:
            r[dst] = r[dst] & (imm & 0xFFFFFFFF)
        elif code == 0x74:
            r[dst] = r[dst] >> imm
        elif code == 0xBF:
            r[dst] = r[src]
        elif code == MOV64_K:
            r[dst] = imm
        elif code == JNE_K:
            if r[dst] != imm:
                pc += off
        elif code == EXIT:
            return r[0]
        else:
            raise AssertionError(f"unexpected opcode {code:#x}")


CHAR, BLOCK, M, R, W = 2, 1, 1, 2, 4
RULES = [{"allow": False, "access": "rwm"},
         {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
         {"allow": True, "type": "c", "major": 1, "minor": 9, "access": "r"},
         {"allow": True, "type": "c", "major": 136, "access": "rwm"},
         {"allow": False, "type": "c", "major": 136, "minor": 7, "access": "rwm"}]


@pytest.mark.parametrize("dev, access, major, minor, allowed", [
    (CHAR, R | W, 1, 3, 1),      # null
    (CHAR, R, 1, 5, 0),          # zero: only the deny-all matches
    (CHAR, R, 1, 9, 1),          # urandom read
    (CHAR, W, 1, 9, 0),          # urandom write is not in "r"
    (BLOCK, R, 1, 3, 0),         # a block device 1:3 is not the char rule
    (CHAR, R | W, 136, 4, 1),    # any pty slave...
    (CHAR, R | W, 136, 7, 0),    # ...but the later deny for 136:7 wins
])
def test_last_matching_rule_wins_and_default_is_deny(dev, access, major, minor, allowed):
    assert run(build_program(RULES), dev, access, major, minor) == allowed


def test_a_catch_all_rule_ends_the_program():
    prog = decode(build_program([{"allow": True, "access": "rwm"}, {"allow": False, "type": "c", "major": 1}]))
    assert prog[-2:] == [(MOV64_K, 0, 0, 1), (EXIT, 0, 0, 0)]


def test_bad_rules_are_refused():
    with pytest.raises(InvalidArgument):
        build_program([{"allow": True, "type": "x"}])
    with pytest.raises(InvalidArgument):
        build_program([{"allow": True, "type": "c", "access": "rwx"}])
