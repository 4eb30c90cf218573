"""--security-opt, --cap-add/--cap-drop and --device as create() reads them (no root)."""

import json

import pytest

from sampan.cli.security_opts import inline_seccomp_files
from sampan.engine import security
from sampan.errors import InvalidArgument
from sampan.runtime import caps as capmod

HELD = [c for c in capmod.CAP_NAMES if c != "CAP_SYS_RESOURCE"]  # this VM's root, as a fixture


@pytest.fixture
def held(monkeypatch):
    monkeypatch.setattr(capmod, "bounding_set", lambda status=None: list(HELD))
    return HELD


@pytest.mark.parametrize("opts, nnp", [
    ([], False), (["no-new-privileges"], True), (["no-new-privileges:true"], True),
    (["no-new-privileges=1"], True), (["no-new-privileges=true", "no-new-privileges=false"], False),
])
def test_no_new_privileges_spellings(opts, nnp):
    assert security.parse_security_opts(opts)["no_new_privileges"] is nnp


def test_seccomp_values():
    assert security.parse_security_opts(["seccomp=unconfined"])["seccomp"] == "unconfined"
    assert security.parse_security_opts(["seccomp:unconfined"])["seccomp"] == "unconfined"
    assert security.parse_security_opts(["seccomp=builtin"])["seccomp"] is None
    profile = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": []}
    parsed = security.parse_security_opts(["seccomp=" + json.dumps(profile)])
    assert parsed["seccomp"] == profile
    assert parsed["security_opt"] == ["seccomp=" + json.dumps(profile)]  # what inspect shows, as Docker


@pytest.mark.parametrize("opt, words", [
    ("seccomp=", "unsupported --security-opt"),
    ("apparmor=docker-default", "unsupported --security-opt"),
    ("no-new-privileges=maybe", "unsupported --security-opt"),
    ("nonsense", "unsupported --security-opt"),
    ('seccomp={"defaultAction": "SCMP_ACT_NOPE"}', "SCMP_ACT_NOPE"),
])
def test_bad_security_opts_are_one_line(opt, words):
    with pytest.raises(InvalidArgument) as e:
        security.parse_security_opts([opt])
    assert words in e.value.message and "\n" not in e.value.message


def test_security_opts_that_are_true_already_are_accepted():
    assert security.parse_security_opts(["apparmor=unconfined", "label=disable"])["seccomp"] is None


def test_the_cli_sends_the_profile_not_its_path(tmp_path):
    f = tmp_path / "p.json"
    f.write_text('{\n  "defaultAction": "SCMP_ACT_ALLOW",\n  "syscalls": []\n}\n')
    out = inline_seccomp_files(["no-new-privileges", f"seccomp={f}", "seccomp=unconfined"])
    assert out == ["no-new-privileges", 'seccomp={"defaultAction":"SCMP_ACT_ALLOW","syscalls":[]}',
                   "seccomp=unconfined"]
    with pytest.raises(InvalidArgument, match="cannot read seccomp profile"):
        inline_seccomp_files([f"seccomp={tmp_path}/missing.json"])
    (tmp_path / "bad.json").write_text("{nope")
    with pytest.raises(InvalidArgument, match="not valid JSON"):
        inline_seccomp_files([f"seccomp={tmp_path}/bad.json"])


def test_an_unknown_capability_is_named_once(held):
    with pytest.raises(InvalidArgument) as e:
        security.check_caps(["CAP_NOPE"], [])
    assert e.value.message.count("NOPE") == 1 and "\n" not in e.value.message
    with pytest.raises(InvalidArgument, match='"CAP_NOPE"'):
        security.check_caps([], ["nope"])


def test_capability_spelling_is_docker_s(held):
    security.check_caps(["net_admin", "Cap_Sys_Time", "ALL", "all"], ["CHOWN"])
    assert capmod.normalize("net_admin") == "CAP_NET_ADMIN"
    assert capmod.normalize("all") == "ALL"


def test_a_capability_the_engine_lacks_cannot_be_added(held):
    with pytest.raises(InvalidArgument) as e:
        security.check_caps(["sys_resource"], [])
    assert "CAP_SYS_RESOURCE" in e.value.message and "bounding set" in e.value.message
    security.check_caps([], ["SYS_RESOURCE"])  # dropping it is harmless


def test_all_means_what_the_engine_holds(held):
    assert security.caps_of({"cap_add": ["all"], "cap_drop": ["net_admin"]}) == \
        [c for c in HELD if c != "CAP_NET_ADMIN"]
    assert security.caps_of({"privileged": True, "cap_drop": ["ALL"]}) == HELD
    assert security.caps_of({"cap_drop": ["all"], "cap_add": ["kill"]}) == ["CAP_KILL"]
    # records written before this change hold normalized names: the same result
    assert security.caps_of({"cap_add": ["CAP_NET_ADMIN"]}) == security.caps_of({"cap_add": ["net_admin"]})


def test_the_bounding_set_is_read_from_proc(tmp_path):
    status = tmp_path / "status"
    status.write_text("Name:\tx\nCapBnd:\t000001fffeffffff\nCapAmb:\t0000000000000000\n")
    got = capmod.bounding_set(str(status))
    assert "CAP_SYS_RESOURCE" not in got and "CAP_SYS_ADMIN" in got and "CAP_CHECKPOINT_RESTORE" in got
    assert len(got) == 40


def test_devices_are_checked_at_create():
    assert security.parse_devices(["/dev/null:/dev/mynull:rw"]) == [
        {"PathOnHost": "/dev/null", "PathInContainer": "/dev/mynull", "CgroupPermissions": "rw"}]
    with pytest.raises(InvalidArgument, match="/dev/nope"):
        security.parse_devices(["/dev/nope"])


def test_privileged_skips_a_device_it_already_has():
    config = {"privileged": True, "devices": [
        {"PathOnHost": "/dev/null", "PathInContainer": "/dev/null", "CgroupPermissions": "r"},
        {"PathOnHost": "/dev/null", "PathInContainer": "/dev/other", "CgroupPermissions": "r"}]}
    devices, _ = security.devices_of(config)
    paths = [d["path"] for d in devices]
    assert paths.count("/dev/null") == 1 and "/dev/other" in paths


def test_the_native_runtime_s_limits_show_at_create():
    profile = {"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/x.sock", "syscalls": []}
    with pytest.raises(InvalidArgument, match="listenerPath"):
        security.check_runtime_can_load({"seccomp": profile, "runtime": "native"}, [])
    security.check_runtime_can_load({"seccomp": profile, "runtime": "runc"}, [])
