"""Capabilities, --privileged and --device in the generated spec, and how the cgroup
code of both versions reads the device rules (no root, no kernel)."""

import os

import pytest

from sampan.errors import InvalidArgument
from sampan.runtime.cgroups.base import RUNC_ALLOWED_DEVICES
from sampan.runtime.cgroups.devices_bpf import build_program
from sampan.runtime.cgroups.v1 import device_rule
from sampan.specgen.defaults import DEFAULT_CAPS, MASKED_PATHS
from sampan.specgen.devices import host_devices, mapped_devices, parse_device
from sampan.specgen.spec import SpecInputs, container_caps, generate
from sampan.specgen.users import ExecUser
from tests.unit.runtime.test_devices_bpf import run as run_bpf

HELD = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_NET_ADMIN", "CAP_SYS_ADMIN", "CAP_KILL"]  # a fake bounding set


def spec(**kw) -> dict:
    return generate(SpecInputs(rootfs="/r", argv=["sh"], env=[], cwd="/", user=ExecUser(0, 0), hostname="h", **kw))


@pytest.mark.parametrize("add, drop, privileged, expected", [
    ([], [], False, DEFAULT_CAPS),
    (["CAP_NET_ADMIN"], ["CAP_CHOWN"], False, [c for c in DEFAULT_CAPS if c != "CAP_CHOWN"] + ["CAP_NET_ADMIN"]),
    (["ALL"], ["CAP_SYS_ADMIN"], False, ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_NET_ADMIN", "CAP_KILL"]),
    (["CAP_KILL"], ["ALL"], False, ["CAP_KILL"]),
    ([], ["ALL"], False, []),
    (["ALL"], ["ALL"], False, HELD),  # Docker: ALL in --cap-add wins
    ([], ["CAP_CHOWN"], True, HELD),  # --privileged ignores the lists
])
def test_docker_capability_rules(add, drop, privileged, expected):
    assert container_caps(add, drop, privileged, HELD) == expected


def test_default_spec_is_confined():
    s = spec()
    linux = s["linux"]
    assert linux["seccomp"]["defaultAction"] == "SCMP_ACT_ERRNO"
    assert linux["maskedPaths"] == MASKED_PATHS and linux["readonlyPaths"]
    assert linux["resources"]["devices"][0] == {"allow": False, "access": "rwm"}
    sys_mounts = {m["destination"]: m["options"] for m in s["mounts"]}
    assert "ro" in sys_mounts["/sys"] and "ro" in sys_mounts["/sys/fs/cgroup"]
    assert s["process"]["capabilities"]["bounding"] == DEFAULT_CAPS
    assert "devices" not in linux


def test_seccomp_follows_the_capabilities_of_the_container():
    names = lambda s: {n for r in s["linux"]["seccomp"]["syscalls"] for n in r["names"]}  # noqa: E731
    assert "mount" not in names(spec())
    assert "mount" in names(spec(caps=DEFAULT_CAPS + ["CAP_SYS_ADMIN"]))


def test_unconfined_and_custom_profiles():
    assert "seccomp" not in spec(seccomp="unconfined")["linux"]
    custom = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO",
                                                                "errnoRet": 13}]}
    assert spec(seccomp=custom)["linux"]["seccomp"]["syscalls"] == custom["syscalls"]


def test_privileged_has_nothing_hidden_and_every_device():
    s = spec(privileged=True, caps=HELD)
    linux = s["linux"]
    assert "seccomp" not in linux
    assert linux["maskedPaths"] == [] and linux["readonlyPaths"] == []
    assert linux["resources"]["devices"] == [{"allow": True, "access": "rwm"}]
    sys_mounts = {m["destination"]: m["options"] for m in s["mounts"]}
    assert "ro" not in sys_mounts["/sys"] and "ro" not in sys_mounts["/sys/fs/cgroup"]
    assert s["process"]["capabilities"]["effective"] == HELD
    # a profile given explicitly still applies, as in Docker
    custom = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": []}
    assert spec(privileged=True, seccomp=custom)["linux"]["seccomp"]["defaultAction"] == "SCMP_ACT_ALLOW"


@pytest.mark.parametrize("value, expected", [
    ("/dev/fuse", ("/dev/fuse", "/dev/fuse", "rwm")),
    ("/dev/fuse:/dev/f", ("/dev/fuse", "/dev/f", "rwm")),
    ("/dev/fuse:r", ("/dev/fuse", "/dev/fuse", "r")),
    ("/dev/fuse:/dev/f:mw", ("/dev/fuse", "/dev/f", "mw")),
    ("/dev/fuse:/dev/f/:r", ("/dev/fuse", "/dev/f", "r")),
])
def test_device_specs_as_docker_reads_them(value, expected):
    d = parse_device(value)
    assert (d["PathOnHost"], d["PathInContainer"], d["CgroupPermissions"]) == expected


@pytest.mark.parametrize("value, words", [
    ("/dev/fuse:/dev/f:rwx", "permissions"),
    ("/dev/fuse:/dev/f:rr", "permissions"),
    ("/dev/fuse:dev/f", "not absolute"),
    ("dev/fuse", "not absolute"),
    ("/a:/b:r:x", "expected HOST"),
])
def test_bad_device_specs(value, words):
    with pytest.raises(InvalidArgument) as e:
        parse_device(value)
    assert words in e.value.message


def test_a_host_device_keeps_its_numbers_under_its_new_name():
    devices, rules = mapped_devices(parse_device("/dev/null:/dev/mynull:r"))
    st = os.stat("/dev/null")
    assert devices == [{"path": "/dev/mynull", "type": "c", "major": os.major(st.st_rdev),
                        "minor": os.minor(st.st_rdev), "fileMode": st.st_mode & 0o777,
                        "uid": st.st_uid, "gid": st.st_gid}]
    assert rules == [{"allow": True, "type": "c", "major": 1, "minor": 3, "access": "r"}]


def test_a_directory_maps_every_node_under_it(tmp_path):
    (tmp_path / "sub").mkdir()
    os.mkfifo(tmp_path / "sub" / "pipe")
    (tmp_path / "file").write_text("not a device")
    devices, _ = mapped_devices(parse_device(f"{tmp_path}:/dev/x"))
    assert [(d["path"], d["type"]) for d in devices] == [("/dev/x/sub/pipe", "p")]


def test_what_is_not_a_device_is_one_line(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(InvalidArgument, match="no such file"):
        mapped_devices(parse_device(f"{tmp_path}/nope"))
    with pytest.raises(InvalidArgument, match="not a device node"):
        mapped_devices(parse_device(f"{tmp_path}/file"))


def test_host_devices_skip_what_the_container_has_of_its_own():
    found = {d["path"]: d for d in host_devices()}
    assert found["/dev/null"]["type"] == "c"
    assert not any(p.startswith(("/dev/pts/", "/dev/shm/", "/dev/mqueue/")) or p == "/dev/console" for p in found)
    assert all(d["type"] in ("c", "b") for d in found.values())


FUSE_R = {"allow": True, "type": "c", "major": 10, "minor": 229, "access": "r"}


def test_device_rules_reach_the_v1_cgroup_lines():
    rules = spec(device_rules=[FUSE_R])["linux"]["resources"]["devices"]
    lines = [device_rule(r) for r in rules]
    assert lines[0] == "a" and "c 10:229 r" in lines
    assert [device_rule(r) for r in spec(privileged=True)["linux"]["resources"]["devices"]] == ["a"]


def test_device_rules_reach_the_v2_bpf_program():
    CHAR, R, W = 2, 2, 4

    def program(s):  # what cgroups/v2.py attaches
        return build_program([{"allow": False, "access": "rwm"}, *s["linux"]["resources"]["devices"],
                              *RUNC_ALLOWED_DEVICES])
    with_fuse, default, privileged = program(spec(device_rules=[FUSE_R])), program(spec()), \
        program(spec(privileged=True))
    assert run_bpf(with_fuse, CHAR, R, 10, 229) == 1
    assert run_bpf(with_fuse, CHAR, W, 10, 229) == 0     # only "r" was granted
    assert run_bpf(with_fuse, CHAR, R, 10, 230) == 0
    assert run_bpf(default, CHAR, R, 10, 229) == 0
    assert run_bpf(privileged, CHAR, R | W, 10, 229) == 1
    assert run_bpf(privileged, 1, R | W, 254, 0) == 1    # a block device (the host's disk)
