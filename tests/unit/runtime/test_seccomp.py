import errno

import pytest

from sampan.errors import InvalidArgument
from sampan.runtime import seccomp
from sampan.runtime.validate import validate

PROFILE = {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38,
           "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
           "syscalls": [{"names": ["read", "write", "exit_group", "no_such_syscall_xyz"], "action": "SCMP_ACT_ALLOW"},
                        {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                         "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]}]}


def test_actions_encode_errno():
    assert seccomp.action("SCMP_ACT_ERRNO", errno.EACCES) == 0x00050000 | errno.EACCES
    assert seccomp.action("SCMP_ACT_ERRNO") == 0x00050000 | errno.EPERM
    assert seccomp.action("SCMP_ACT_ALLOW") == 0x7FFF0000
    with pytest.raises(InvalidArgument):
        seccomp.action("SCMP_ACT_DANCE")


@pytest.mark.parametrize("change, words", [
    (lambda p: p.__setitem__("defaultAction", "SCMP_ACT_NOPE"), "SCMP_ACT_NOPE"),
    (lambda p: p["syscalls"][1]["args"][0].__setitem__("op", "SCMP_CMP_SOMETIMES"), "operator"),
    (lambda p: p["architectures"].append("SCMP_ARCH_PDP11"), "architecture"),
    (lambda p: p.__setitem__("listenerPath", "/run/x.sock"), "listenerPath"),
])
def test_check_names_what_is_unsupported(change, words):
    import copy
    p = copy.deepcopy(PROFILE)
    change(p)
    assert words in seccomp.check(p)


def test_validate_runs_the_seccomp_check(tmp_path):
    (tmp_path / "rootfs").mkdir()
    spec = {"root": {"path": "rootfs"}, "process": {"args": ["sh"], "cwd": "/"},
            "linux": {"seccomp": dict(PROFILE, defaultAction="SCMP_ACT_WHATEVER")}}
    with pytest.raises(InvalidArgument):
        validate(spec, tmp_path)


def test_compile_gives_a_bpf_program():
    bpf = seccomp.compile_bpf(PROFILE)
    assert bpf and len(bpf) % 8 == 0
    # the last instructions return the default action: ERRNO(38) appears as a RET constant
    assert (0x00050000 | 38).to_bytes(4, "little") in bpf
