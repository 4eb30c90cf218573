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


def test_compiled_programs_are_cached_by_what_decides_them(tmp_path, monkeypatch):
    bpf = seccomp.compile_cached(PROFILE, tmp_path / "cache")
    entries = list((tmp_path / "cache").iterdir())
    assert len(entries) == 1 and entries[0].stat().st_mode & 0o777 == 0o600
    assert bpf == seccomp.compile_bpf(PROFILE)

    def no_compile(*a, **kw):
        raise AssertionError("compiled again")
    monkeypatch.setattr(seccomp, "compile_bpf", no_compile)
    assert seccomp.compile_cached(PROFILE, tmp_path / "cache") == bpf  # a hit
    other = dict(PROFILE, defaultErrnoRet=13)
    with pytest.raises(AssertionError, match="compiled again"):
        seccomp.compile_cached(other, tmp_path / "cache")


def test_a_cache_entry_for_another_key_is_never_used(tmp_path):
    cache = tmp_path / "cache"
    good = seccomp.compile_cached(PROFILE, cache)
    entry = next(cache.iterdir())
    # same file name (a CRC collision, or a stale entry), another key: compiled, not trusted
    entry.write_bytes(b'[2,"other"]\n' + b"\0" * 8)
    assert seccomp.compile_cached(PROFILE, cache) == good
    assert entry.read_bytes().endswith(good)


def test_the_cache_keeps_a_bounded_number_of_programs(tmp_path, monkeypatch):
    monkeypatch.setattr(seccomp, "CACHE_ENTRIES", 3)
    for n in range(6):
        seccomp.compile_cached(dict(PROFILE, defaultErrnoRet=n + 1), tmp_path / "cache")
    assert len(list((tmp_path / "cache").iterdir())) == 3


def test_every_docker_architecture_compiles_or_is_skipped_as_foreign():
    from sampan.specgen.seccomp_default import DEFAULT_PROFILE
    arches = [a for m in DEFAULT_PROFILE["archMap"] for a in [m["architecture"], *m["subArchitectures"]]]
    profile = {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}
    for arch in sorted(set(arches) - {"SCMP_ARCH_LOONGARCH64"}):  # libseccomp 2.6 and later only
        assert seccomp.check(dict(profile, architectures=[arch])) is None, arch
        assert seccomp.compile_bpf(dict(profile, architectures=[arch])), arch
