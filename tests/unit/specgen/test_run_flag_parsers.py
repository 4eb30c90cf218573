"""--ulimit (go-units' ParseUlimit), --sysctl (docker/cli ValidateSysctl plus the namespace
each needs), --dns-search, --platform and the spec they produce."""

import pytest
from hypothesis import given, strategies as st

from sampan.engine import create_flags
from sampan.errors import InvalidArgument
from sampan.specgen.spec import SpecInputs, generate
from sampan.specgen.sysctls import parse_sysctls
from sampan.specgen.ulimits import oci_rlimits, parse_ulimit
from sampan.specgen.users import ExecUser


def test_ulimits():
    assert parse_ulimit("nofile=1024:2048") == {"Name": "nofile", "Soft": 1024, "Hard": 2048}
    assert parse_ulimit("core=-1") == {"Name": "core", "Soft": -1, "Hard": -1}
    assert parse_ulimit({"Name": "nproc", "Soft": 5, "Hard": 9}) == {"Name": "nproc", "Soft": 5, "Hard": 9}
    rl = oci_rlimits([parse_ulimit("nofile=10:20"), parse_ulimit("core=-1")],
                     [{"type": "RLIMIT_NOFILE", "soft": 1, "hard": 1}])
    assert rl == [{"type": "RLIMIT_NOFILE", "soft": 10, "hard": 20},
                  {"type": "RLIMIT_CORE", "soft": 2**64 - 1, "hard": 2**64 - 1}]


@pytest.mark.parametrize("spec", ["nofile", "nofile=", "nofile=a", "nofile=1:b", "x=1", "nofile=5:1",
                                  "nofile=-2", "nofile=99999999999999999999", "nofile=-1:5", "nofile=١"])
def test_bad_ulimits(spec):
    with pytest.raises(InvalidArgument):
        parse_ulimit(spec)


def test_sysctls_only_namespaced():
    assert parse_sysctls(["net.core.somaxconn=1024", "kernel.shmmax=1", "fs.mqueue.msg_max=20"], "bridge", None) \
        == {"net.core.somaxconn": "1024", "kernel.shmmax": "1", "fs.mqueue.msg_max": "20"}
    for bad in ("kernel.core_pattern=x", "vm.swappiness=1", "net=1", "net./x=1", "net.a/../../b=1",
                "net.ipv4..x=1", "kernel.shmmax", "=1", "fs.file-max=1", "net.a=1\nkernel.x=2"):
        with pytest.raises(InvalidArgument):
            parse_sysctls([bad], "bridge", None)
    with pytest.raises(InvalidArgument, match="--network host"):
        parse_sysctls(["net.core.somaxconn=1"], "host", None)
    with pytest.raises(InvalidArgument, match="--network container:"):
        parse_sysctls({"net.core.somaxconn": "1"}, "container:abc", None)
    with pytest.raises(InvalidArgument, match="--ipc host"):
        parse_sysctls(["kernel.sem=1 2 3 4"], "none", "host")
    assert parse_sysctls(["kernel.sem=1 2 3 4"], "host", "shareable") == {"kernel.sem": "1 2 3 4"}


@given(st.text(max_size=40), st.text(max_size=10))
def test_an_allowed_sysctl_key_is_a_path_below_proc_sys(key, value):
    try:
        out = parse_sysctls({key: value}, "bridge", None)
    except InvalidArgument:
        return
    path = "/proc/sys/" + key.replace(".", "/")
    assert "//" not in path and "/../" not in path + "/" and set(out) == {key}


def test_dns_search_and_platform():
    assert create_flags.dns_search(["example.com", "."]) == ["example.com", "."]
    for bad in ("bad domain", "-", "a..b", "x" * 300):
        with pytest.raises(InvalidArgument):
            create_flags.dns_search([bad])
    assert create_flags.parse_platform("linux/x86_64") == ("linux", "amd64", "")
    assert create_flags.parse_platform("LINUX/arm64/v8") == ("linux", "arm64", "v8")
    for bad in ("windows/amd64", "linux//", "a/b/c/d"):
        with pytest.raises(InvalidArgument):
            create_flags.parse_platform(bad)


def test_spec_of_the_flags():
    spec = generate(SpecInputs(
        rootfs="/r", argv=["sh"], env=[], cwd="/", user=ExecUser(0, 0), hostname="h",
        rlimits=[{"type": "RLIMIT_NOFILE", "soft": 1, "hard": 2}], sysctls={"net.core.somaxconn": "9"},
        shm_size=1 << 20, join={"pid": "host", "ipc": "/proc/7/ns/ipc", "uts": "host"}))
    ns = spec["linux"]["namespaces"]
    assert {"type": "ipc", "path": "/proc/7/ns/ipc"} in ns
    assert not any(n["type"] in ("pid", "uts") for n in ns) and "hostname" not in spec
    assert spec["process"]["rlimits"] == [{"type": "RLIMIT_NOFILE", "soft": 1, "hard": 2}]
    assert spec["linux"]["sysctl"]["net.core.somaxconn"] == "9"
    shm = next(m for m in spec["mounts"] if m["destination"] == "/dev/shm")
    assert f"size={1 << 20}" in shm["options"] and "size=65536k" not in shm["options"]
    none = generate(SpecInputs(rootfs="/r", argv=["sh"], env=[], cwd="/", user=ExecUser(0, 0), hostname="h",
                               shm=""))
    assert not any(m["destination"] == "/dev/shm" for m in none["mounts"])
