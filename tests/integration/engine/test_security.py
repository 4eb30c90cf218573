"""Seccomp, capabilities, --privileged and --device, attacked from inside real containers
with both runtimes. A static checker (tests/support/syscheck.c) tries the syscalls that
reach the host's kernel; arguments that a kernel answers with anything but EPERM tell a
refusal by the filter from a refusal by the kernel."""

import json
import os

import pytest

from tests.support import syscheck

RUNTIMES = ["native", "runc"]
# refused by the default profile, whatever the kernel would say
REFUSED = ["keyctl", "add_key", "request_key", "bpf", "perf_event_open", "userfaultfd", "kexec_load",
           "mount", "umount2", "unshare", "setns", "clone_newuser", "personality", "socket_vsock"]


@pytest.fixture(scope="module")
def checker(tmp_path_factory):
    d = tmp_path_factory.mktemp("syscheck")
    syscheck.build(d)
    return d


def run(sampan, runtime, *args, **kw):
    return sampan("run", "--rm", "--network", "none", "--runtime", runtime, *args, **kw)


def status_field(out: str, name: str) -> str:
    return next(line.split()[1] for line in out.splitlines() if line.startswith(name + ":"))


def own_bounding_set() -> str:
    with open("/proc/self/status") as f:
        return status_field(f.read(), "CapBnd")


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_default_container_cannot_reach_the_kernel_s_dangerous_parts(sampan, runtime, checker):
    script = ("grep Seccomp: /proc/self/status; unshare -U -r true; echo unshare=$?; mkdir /m; "
              "mount -t tmpfs t /m; echo mount=$?; /t/syscheck " + " ".join(REFUSED + ["clone3", "ptrace"]))
    r = run(sampan, runtime, "-v", f"{checker}:/t:ro", "busybox", "sh", "-c", script)
    assert r.rc == 0, r.err
    assert status_field(r.out, "Seccomp") == "2"
    assert "unshare=1" in r.out and "Operation not permitted" in r.err
    assert "mount=0" not in r.out
    got = syscheck.parse(r.out)
    assert {k: syscheck.name(got[k]) for k in REFUSED} == {k: "EPERM" for k in REFUSED}
    assert syscheck.name(got["clone3"]) == "ENOSYS"   # libc falls back to clone, whose flags are checked
    assert syscheck.name(got["ptrace"]) == "ESRCH"    # allowed from kernel 4.8 on, as in Docker


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_the_filter_holds_for_another_user_and_with_no_new_privileges(sampan, runtime):
    # the native runtime loads the filter before setuid, or last when no_new_privs is set
    for extra in ([], ["--security-opt", "no-new-privileges"]):
        r = run(sampan, runtime, "-u", "1000:1000", *extra, "busybox", "sh", "-c",
                "id -u; grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status; unshare -U true; echo unshare=$?")
        assert r.out.splitlines()[0] == "1000", r.err
        assert status_field(r.out, "Seccomp") == "2" and "unshare=1" in r.out
        assert status_field(r.out, "NoNewPrivs") == ("1" if extra else "0")


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_exec_runs_under_the_same_filter(sampan, runtime):
    cid = sampan.ok("run", "-d", "--network", "none", "--runtime", runtime, "busybox", "sleep", "60").strip()
    r = sampan("exec", cid, "sh", "-c", "grep Seccomp: /proc/self/status; unshare -U -r true; echo unshare=$?")
    assert status_field(r.out, "Seccomp") == "2" and "unshare=1" in r.out
    sampan.ok("rm", "-f", cid)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_unconfined_leaves_the_answer_to_the_kernel(sampan, runtime, checker):
    r = run(sampan, runtime, "--security-opt", "seccomp=unconfined", "-v", f"{checker}:/t:ro", "busybox", "sh",
            "-c", "grep Seccomp: /proc/self/status; unshare -U -r true; echo unshare=$?; /t/syscheck "
            + " ".join(REFUSED))
    assert status_field(r.out, "Seccomp") == "0"
    assert "unshare=0" in r.out, r.err
    got = syscheck.parse(r.out)
    assert not [k for k in REFUSED if syscheck.name(got[k]) == "EPERM"], got


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_cap_sys_admin_opens_what_the_profile_gates_on_it(sampan, runtime, checker):
    r = run(sampan, runtime, "--cap-add", "sys_admin", "-v", f"{checker}:/t:ro", "busybox",
            "/t/syscheck", "mount", "unshare", "bpf", "keyctl", "add_key")
    got = {k: syscheck.name(v) for k, v in syscheck.parse(r.out).items()}
    assert got == {"mount": "EFAULT", "unshare": "EINVAL", "bpf": "EINVAL", "keyctl": "EPERM", "add_key": "EPERM"}


PROFILE = {
    "defaultAction": "SCMP_ACT_ALLOW",
    "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"]},
                {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]}],
    "syscalls": [
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
        {"name": "rmdir", "action": "SCMP_ACT_ERRNO"},
        {"names": ["sethostname"], "action": "SCMP_ACT_ERRNO", "errnoRet": 95,
         "includes": {"caps": ["CAP_SYS_ADMIN"]}},
    ],
}


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_custom_profile_in_docker_s_format(sampan, runtime, tmp_path):
    path = tmp_path / "profile.json"
    path.write_text(json.dumps(PROFILE, indent=2))
    r = run(sampan, runtime, "--security-opt", f"seccomp={path}", "busybox", "sh", "-c",
            "grep Seccomp: /proc/self/status; mkdir /x || echo mkdir-refused; touch /f && echo touch-ok; "
            "rmdir /tmp || echo rmdir-refused; hostname foo || echo hostname-refused")
    assert status_field(r.out, "Seccomp") == "2"
    assert "mkdir-refused" in r.out and "Permission denied" in r.err        # errnoRet 13
    assert "rmdir-refused" in r.out and "Operation not permitted" in r.err  # no errnoRet: EPERM
    assert "touch-ok" in r.out
    assert "hostname-refused" in r.out  # refused by the capability check, not the gated rule
    assert "not supported" not in r.err


@pytest.mark.parametrize("content, words", [
    ("{nope", "not valid JSON"),
    ('{"defaultAction": "SCMP_ACT_DANCE"}', "SCMP_ACT_DANCE"),
    ('{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", '
     '"args": [{"index": 0, "value": 1, "op": "SCMP_CMP_SOMETIMES"}]}]}', "SCMP_CMP_SOMETIMES"),
    (None, "cannot read seccomp profile"),
])
def test_a_bad_profile_fails_create_in_one_line(sampan, tmp_path, content, words):
    path = tmp_path / "p.json"
    if content is not None:
        path.write_text(content)
    r = sampan("run", "--rm", "--network", "none", "--security-opt", f"seccomp={path}", "busybox", "true")
    assert r.rc == 125
    assert words in r.err and len(r.err.strip().splitlines()) == 1 and "Traceback" not in r.err
    assert sampan.ok("ps", "-aq") == ""


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_privileged_gets_the_host(sampan, runtime):
    from sampan.specgen.devices import host_devices
    script = ("grep -E '^(Seccomp|CapEff):' /proc/self/status; ls /dev; "
              "dd if=/dev/kmsg of=/dev/null bs=8k count=1 2>/dev/null && echo kmsg-read; "
              "grep -E ' /sys (sysfs|cgroup)' /proc/mounts; grep -c ' /proc/' /proc/self/mountinfo; true")
    r = run(sampan, runtime, "--privileged", "busybox", "sh", "-c", script)
    assert r.rc == 0, r.err
    assert status_field(r.out, "Seccomp") == "0"
    assert status_field(r.out, "CapEff") == own_bounding_set()
    names = set(r.out.split())
    wanted = {d["path"][len("/dev/"):] for d in host_devices() if d["path"].count("/") == 2}
    assert wanted <= names, wanted - names
    assert "kmsg-read" in r.out
    sys_line = next(line for line in r.out.splitlines() if " /sys sysfs " in line)
    assert " rw," in sys_line
    assert r.out.splitlines()[-1] == "0"  # nothing masked or made read-only under /proc
    warnings = [line for line in r.err.splitlines() if "privileged" in line]
    assert len(warnings) == 1 and "host" in warnings[0]
    # the same host device, made by hand in a default container, stays closed
    r = run(sampan, runtime, "busybox", "sh", "-c",
            "mknod /tmp/k c 1 11; dd if=/tmp/k of=/dev/null bs=8k count=1 && echo kmsg-read")
    assert "kmsg-read" not in r.out and "Operation not permitted" in r.err


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_device_mapping(sampan, runtime):
    r = run(sampan, runtime, "--device", "/dev/null:/dev/mynull", "--device", "/dev/zero:/zero:rw", "busybox",
            "sh", "-c", "ls -l /dev/mynull /zero; echo hi > /dev/mynull && echo wrote; head -c 3 /zero | wc -c")
    assert r.rc == 0, r.err
    mynull = next(line for line in r.out.splitlines() if line.endswith("/dev/mynull"))
    assert mynull.startswith("c") and "1,   3" in mynull
    assert "wrote" in r.out and r.out.splitlines()[-1].strip() == "3"


@pytest.mark.skipif(not os.path.exists("/dev/fuse"), reason="no /dev/fuse on this host")
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_device_permissions_reach_the_device_cgroup(sampan, runtime):
    # /dev/fuse is outside the default allow list: only the --device rule opens it, read-only
    r = run(sampan, runtime, "--device", "/dev/fuse:/dev/myfuse:r", "busybox", "sh", "-c",
            "(exec 3</dev/myfuse) && echo read-ok; (exec 3>/dev/myfuse) && echo write-ok; true")
    assert "read-ok" in r.out and "write-ok" not in r.out, (r.out, r.err)
    assert "Operation not permitted" in r.err


def test_a_missing_device_fails_create_in_one_line(sampan):
    r = sampan("run", "--rm", "--network", "none", "--device", "/dev/nope:/dev/x", "busybox", "true")
    assert r.rc == 125 and "/dev/nope" in r.err and len(r.err.strip().splitlines()) == 1
    assert sampan.ok("ps", "-aq") == ""


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_cap_add_all_is_what_the_engine_holds_and_cap_drop_all_is_nothing(sampan, runtime):
    cap_eff = "grep CapEff: /proc/self/status"
    assert status_field(run(sampan, runtime, "--cap-add", "ALL", "busybox", "sh", "-c", cap_eff).out,
                        "CapEff") == own_bounding_set()
    assert status_field(run(sampan, runtime, "--cap-drop", "all", "busybox", "sh", "-c", cap_eff).out,
                        "CapEff") == "0" * 16
    eff = int(status_field(run(sampan, runtime, "--cap-drop", "ALL", "--cap-add", "net_admin", "busybox",
                               "sh", "-c", cap_eff).out, "CapEff"), 16)
    assert eff == 1 << 12  # CAP_NET_ADMIN alone


def test_an_unknown_or_unheld_capability_is_one_line(sampan):
    r = sampan("run", "--rm", "--network", "none", "--cap-add", "CAP_NOPE", "busybox", "true")
    assert r.rc == 125 and r.err.count("NOPE") == 1 and len(r.err.strip().splitlines()) == 1
    if not int(own_bounding_set(), 16) >> 24 & 1:  # this VM's root lacks CAP_SYS_RESOURCE
        r = sampan("run", "--rm", "--network", "none", "--cap-add", "sys_resource", "busybox", "true")
        assert r.rc == 125 and "CAP_SYS_RESOURCE" in r.err and len(r.err.strip().splitlines()) == 1
    assert sampan.ok("ps", "-aq") == ""


def test_inspect_shows_the_security_settings_as_docker(sampan, tmp_path):
    path = tmp_path / "profile.json"
    path.write_text(json.dumps(PROFILE, indent=2))
    cid = sampan.ok("create", "--network", "none", "--cap-add", "net_admin", "--cap-drop", "CHOWN",
                    "--security-opt", "no-new-privileges", "--security-opt", f"seccomp={path}",
                    "--device", "/dev/null:/dev/mynull:rw", "busybox").strip()
    host = json.loads(sampan.ok("inspect", cid))[0]["HostConfig"]
    assert host["CapAdd"] == ["net_admin"] and host["CapDrop"] == ["CHOWN"]
    assert host["SecurityOpt"][0] == "no-new-privileges"
    assert json.loads(host["SecurityOpt"][1].partition("=")[2]) == PROFILE
    assert host["Privileged"] is False
    assert host["Devices"] == [{"PathOnHost": "/dev/null", "PathInContainer": "/dev/mynull",
                                "CgroupPermissions": "rw"}]
    r = sampan("create", "--network", "none", "--privileged", "busybox")
    priv = json.loads(sampan.ok("inspect", r.out.strip()))[0]["HostConfig"]
    assert priv["Privileged"] is True and priv["SecurityOpt"] is None and priv["Devices"] == []


def test_a_privileged_container_s_network_sandbox_is_never_handed_on(sampan):
    # --privileged holds NET_ADMIN: what it did to its network must not reach the next container
    from tests.integration.engine.conftest import settle
    out = sampan.ok("run", "--rm", "--privileged", "busybox", "sh", "-c",
                    "ip addr add 192.0.2.7/32 dev eth0 && ip -4 -o addr show eth0")
    assert "192.0.2.7" in out
    settle(sampan)
    for _ in range(3):  # the spare pool holds at most 2: a recycled sandbox would show up here
        assert "192.0.2.7" not in sampan.ok("run", "--rm", "busybox", "ip", "-4", "-o", "addr")
