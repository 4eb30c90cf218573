"""The default seccomp profile and Docker's profile format, resolved without a kernel."""

import json

import pytest

from sampan.errors import InvalidArgument
from sampan.specgen.defaults import DEFAULT_CAPS
from sampan.specgen.seccomp import load, resolve
from sampan.specgen.seccomp_default import CLONE_NS_FLAGS, DEFAULT_PROFILE

CLONE_NEWUSER, CLONE_NEWNET, SIGCHLD = 0x10000000, 0x40000000, 17
OPS = {"SCMP_CMP_EQ": lambda a, v, m: a == v, "SCMP_CMP_NE": lambda a, v, m: a != v,
       "SCMP_CMP_LT": lambda a, v, m: a < v, "SCMP_CMP_LE": lambda a, v, m: a <= v,
       "SCMP_CMP_GT": lambda a, v, m: a > v, "SCMP_CMP_GE": lambda a, v, m: a >= v,
       "SCMP_CMP_MASKED_EQ": lambda a, v, m: a & v == m}


def outcome(oci: dict, name: str, *args: int) -> tuple[str, int | None]:
    """What a default-deny profile does with one call: ("allow", None) if an allow rule
    matches its arguments, else the first matching other rule, else the default action."""
    others = []
    for rule in oci["syscalls"]:
        if name not in rule["names"]:
            continue
        conds = rule.get("args") or []
        if all(OPS[c["op"]](args[c["index"]] if c["index"] < len(args) else 0, c["value"], c.get("valueTwo", 0))
               for c in conds):
            if rule["action"] == "SCMP_ACT_ALLOW":
                return ("allow", None)
            others.append((rule["action"], rule.get("errnoRet")))
    return others[0] if others else (oci["defaultAction"], oci.get("defaultErrnoRet"))


def allowed(oci: dict, name: str, *args: int) -> bool:
    return outcome(oci, name, *args)[0] == "allow"


def default(caps=DEFAULT_CAPS, machine="x86_64", kernel=(6, 1)) -> dict:
    return resolve(DEFAULT_PROFILE, caps, machine=machine, kernel=kernel)


def test_the_default_denies_with_eperm_and_allows_the_common_calls():
    oci = default()
    assert (oci["defaultAction"], oci["defaultErrnoRet"]) == ("SCMP_ACT_ERRNO", 1)
    for name in ("read", "write", "openat", "execve", "clone", "futex", "socket", "chroot", "ptrace",
                 "setuid", "capset", "prctl", "seccomp", "arch_prctl", "modify_ldt"):
        assert allowed(oci, name), name


@pytest.mark.parametrize("name", [
    "keyctl", "add_key", "request_key", "bpf", "perf_event_open", "kexec_load", "kexec_file_load",
    "open_by_handle_at", "userfaultfd", "mount", "umount2", "unshare", "setns", "pivot_root",
    "init_module", "finit_module", "delete_module", "reboot", "settimeofday", "clock_settime", "iopl",
    "ioperm", "acct", "swapon", "syslog", "vhangup", "lookup_dcookie", "fsopen", "move_mount", "kcmp",
    "pidfd_getfd", "quotactl", "mbind", "sethostname",
])
def test_the_default_refuses_what_reaches_the_host(name):
    assert outcome(default(), name, 0) == ("SCMP_ACT_ERRNO", 1)


def test_clone_is_allowed_without_namespace_flags_only():
    oci = default()
    assert allowed(oci, "clone", SIGCHLD)
    for flag in (CLONE_NEWUSER, CLONE_NEWNET, 0x00020000, 0x00000000 | 0x08000000):
        assert not allowed(oci, "clone", flag | SIGCHLD), hex(flag)
    # clone3 hides its flags from seccomp: ENOSYS makes libc fall back to clone
    assert outcome(oci, "clone3") == ("SCMP_ACT_ERRNO", 38)


def test_cap_sys_admin_opens_namespaces_and_mounts():
    oci = default(caps=DEFAULT_CAPS + ["CAP_SYS_ADMIN"])
    for name in ("mount", "umount2", "unshare", "setns", "bpf", "perf_event_open", "sethostname"):
        assert allowed(oci, name), name
    assert allowed(oci, "clone", CLONE_NEWUSER | SIGCHLD)
    assert allowed(oci, "clone3")
    for name in ("keyctl", "add_key", "kexec_load", "userfaultfd"):  # never, whatever the caps
        assert not allowed(oci, name), name


@pytest.mark.parametrize("cap, names", [
    ("CAP_SYS_PTRACE", ["kcmp", "pidfd_getfd", "process_madvise"]),
    ("CAP_SYS_MODULE", ["init_module", "finit_module", "delete_module"]),
    ("CAP_SYS_TIME", ["settimeofday", "clock_settime"]),
    ("CAP_SYS_BOOT", ["reboot"]),
    ("CAP_SYS_RAWIO", ["iopl", "ioperm"]),
    ("CAP_SYS_PACCT", ["acct"]),
    ("CAP_SYS_NICE", ["mbind", "set_mempolicy"]),
    ("CAP_SYSLOG", ["syslog"]),
    ("CAP_BPF", ["bpf"]),
    ("CAP_PERFMON", ["perf_event_open"]),
    ("CAP_DAC_READ_SEARCH", ["open_by_handle_at"]),
])
def test_capabilities_open_their_own_syscalls(cap, names):
    without, with_cap = default(), default(caps=DEFAULT_CAPS + [cap])
    for name in names:
        assert not allowed(without, name) and allowed(with_cap, name), name


def test_dropping_a_default_cap_closes_its_syscall():
    assert not allowed(default(caps=[c for c in DEFAULT_CAPS if c != "CAP_SYS_CHROOT"]), "chroot")


def test_ptrace_only_from_kernel_4_8():
    assert not allowed(default(kernel=(4, 7)), "ptrace")
    assert allowed(default(kernel=(4, 8)), "ptrace")
    assert allowed(default(kernel=(4, 7), caps=DEFAULT_CAPS + ["CAP_SYS_PTRACE"]), "ptrace")


def test_personality_only_the_harmless_values():
    oci = default()
    for value in (0x0, 0x8, 0x20000, 0x20008, 0xFFFFFFFF):
        assert allowed(oci, "personality", value), hex(value)
    for value in (0x0400000, 0x0040000, 0x1):  # READ_IMPLIES_EXEC, ADDR_LIMIT_32BIT, ...
        assert not allowed(oci, "personality", value), hex(value)


def test_socket_refuses_af_alg_and_af_vsock():
    oci = default()
    assert [f for f in range(46) if not allowed(oci, "socket", f, 1, 0)] == [38, 40]


@pytest.mark.parametrize("machine, arches, own, foreign", [
    ("x86_64", ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"], "arch_prctl", "set_tls"),
    ("aarch64", ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"], "set_tls", "arch_prctl"),
    ("riscv64", ["SCMP_ARCH_RISCV64"], "riscv_flush_icache", "modify_ldt"),
    ("s390x", ["SCMP_ARCH_S390X", "SCMP_ARCH_S390"], "s390_runtime_instr", "arch_prctl"),
])
def test_architectures_follow_the_host(machine, arches, own, foreign):
    oci = default(machine=machine)
    assert oci["architectures"] == arches
    assert allowed(oci, own) and not allowed(oci, foreign)


def test_s390_checks_clone_flags_in_its_second_argument():
    oci = default(machine="s390x")
    assert allowed(oci, "clone", 0, SIGCHLD) and not allowed(oci, "clone", 0, CLONE_NEWUSER)
    assert CLONE_NS_FLAGS & CLONE_NEWUSER


def test_a_docker_format_profile_resolves():
    text = json.dumps({
        "defaultAction": "SCMP_ACT_ALLOW",
        "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"]}],
        "syscalls": [
            {"name": "mkdir", "action": "SCMP_ACT_ERRNO", "errnoRet": 13},  # the old single-name form
            {"names": ["chmod"], "action": "SCMP_ACT_ERRNO", "excludes": {"caps": ["CAP_FOWNER"]}},
            {"names": ["chown"], "action": "SCMP_ACT_ERRNO", "includes": {"arches": ["arm64"]}},
            {"names": ["sync"], "action": "SCMP_ACT_ERRNO", "includes": {"minKernel": "99.0"}},
            {"names": ["uname"], "action": "SCMP_ACT_LOG", "comment": "kept"},
        ]})
    oci = resolve(load(text), ["CAP_CHOWN"], machine="x86_64", kernel=(6, 1))
    assert oci["architectures"] == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"]
    assert oci["syscalls"] == [
        {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
        {"names": ["chmod"], "action": "SCMP_ACT_ERRNO"},
        {"names": ["uname"], "action": "SCMP_ACT_LOG"},
    ]
    assert "chmod" not in json.dumps(resolve(load(text), ["CAP_FOWNER"], machine="x86_64", kernel=(6, 1)))


def test_a_profile_that_sets_nothing_means_no_filter():
    assert resolve(load("{}"), DEFAULT_CAPS) is None


@pytest.mark.parametrize("text, words", [
    ("{nope", "not valid JSON"),
    ("[]", "JSON object"),
    ('{"defaultAction": "SCMP_ACT_DANCE"}', "SCMP_ACT_DANCE"),
    ('{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86"], '
     '"archMap": [{"architecture": "SCMP_ARCH_X86_64"}]}', "both"),
    ('{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"name": "a", "names": ["b"], '
     '"action": "SCMP_ACT_ALLOW"}]}', "both 'name' and 'names'"),
    ('{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["a"], "action": "ALLOW"}]}', "ALLOW"),
    ('{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["a"], "action": "SCMP_ACT_ALLOW", '
     '"args": [{"index": 7, "value": 1, "op": "SCMP_CMP_EQ"}]}]}', "index"),
    ('{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["a"], "action": "SCMP_ACT_ALLOW", '
     '"args": [{"index": 0, "value": 1, "op": "SCMP_CMP_SOMETIMES"}]}]}', "SCMP_CMP_SOMETIMES"),
    ('{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["a"], "action": "SCMP_ACT_ALLOW", '
     '"includes": {"minKernel": "four"}}]}', "minKernel"),
    ('{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": "read", "action": "SCMP_ACT_ALLOW"}]}',
     "list of strings"),
    ('{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": {"names": ["read"]}}', "syscalls must be a list"),
])
def test_a_bad_profile_is_one_line_naming_the_problem(text, words):
    with pytest.raises(InvalidArgument) as e:
        load(text)
    assert words in e.value.message
    assert "\n" not in e.value.message and e.value.message.startswith("invalid seccomp profile")


def test_resolve_never_changes_the_default_profile():
    before = json.dumps(DEFAULT_PROFILE, sort_keys=True)
    oci = default()
    oci["syscalls"][0]["names"].append("keyctl")
    oci["architectures"].append("SCMP_ARCH_ARM")
    assert json.dumps(DEFAULT_PROFILE, sort_keys=True) == before
