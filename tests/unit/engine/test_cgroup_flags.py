"""engine/cgroup_flags.py's checks (Docker's wording, hostile values) and what specgen makes
of the values: linux.resources, process.oomScoreAdj, cgroupsPath and the cgroup namespace."""

import os

import pytest

from sampan.engine import cgroup_flags as cf
from sampan.engine.options import RunOptions
from sampan.errors import InvalidArgument
from sampan.runtime.base import cgroups_path
from sampan.specgen.spec import SpecInputs, generate
from sampan.specgen.users import ExecUser


def _opts(**kw) -> RunOptions:
    return RunOptions("busybox", **kw)


@pytest.mark.parametrize("bad", ["..", "../x", "a/../../b", "/..", "/../../etc", "a/./b", "a//b", ".",
                                 "x.slice", "a:b:c", "a\0b", "/", "x" * 2000, "a\nb", "a b", "-x", ".hidden",
                                 "sampan/" + "ab" * 32])
def test_cgroup_parent_refuses_escapes_and_oddities(bad):
    with pytest.raises(InvalidArgument, match="--cgroup-parent"):
        cf.cgroup_parent(bad)


@pytest.mark.parametrize("value,want", [("mine", "mine"), ("/mine/sub/", "mine/sub"), ("a.b_c-d", "a.b_c-d"),
                                        (None, None), ("", None)])
def test_cgroup_parent_is_kept_relative(value, want):
    assert cf.cgroup_parent(value) == want
    if want:  # a leading / is the hierarchy root: the cgroup never lands outside it
        assert cgroups_path("ID", want) == f"/{want}/ID"
        assert ".." not in os.path.normpath(cgroups_path("ID", want)).split("/")


def test_cpu_cfs_rules_as_docker():
    assert cf.cpu_cfs(_opts(cpu_period="50000", cpu_quota="-1"), False) == {"cpu_period": 50000, "cpu_cfs_quota": -1}
    assert cf.cpu_cfs(_opts(cpu_period=0, cpu_quota=0), True) == {}
    for kw, nano, words in (({"cpu_period": "5000"}, True, "Nano CPUs and CPU Period"),
                            ({"cpu_quota": "5000"}, True, "Nano CPUs and CPU Quota"),
                            ({"cpu_period": "999"}, False, "CPU cfs period can not be less than 1ms"),
                            ({"cpu_period": "99999999999999999999999"}, False, "too large"),
                            ({"cpu_quota": "10"}, False, "CPU cfs quota can not be less than 1ms"),
                            ({"cpu_quota": True}, False, "whole number"),
                            ({"cpu_quota": "1e4"}, False, "whole number")):
        with pytest.raises(InvalidArgument, match=words):
            cf.cpu_cfs(_opts(**kw), nano)


def test_device_cgroup_rules_are_strict():
    assert cf.device_cgroup_rules(["c 1:3 rwm", "b *:* m", "a *:* r"]) == ["c 1:3 rwm", "b *:* m", "a *:* r"]
    for bad in ("c 1:3", "c 1:3 rwmx", "c 1:3  r", " c 1:3 r", "c 1:3 r\n", "z 1:3 r", "c -1:3 r", "c 1:3 q",
                "c ١:3 r", 7, None):
        with pytest.raises(InvalidArgument, match="invalid device cgroup format"):
            cf.device_cgroup_rules([bad])


@pytest.mark.parametrize("item,words", [
    ("/dev/null:1mb", "is not a block device"), ("/etc/passwd:1", "bad format for device path"),
    ("/dev/../etc/passwd:1", "is not a block device"), ("/dev/nope:1", "stat /dev/nope: no such file"),
    (":1", "bad format: :1"), ("/dev/null", "bad format: /dev/null"), ("/dev/null:-1", "invalid rate"),
    ("/dev/null:1x", "invalid rate"), ({"Path": 7, "Rate": 1}, "needs a Path"),
    ({"Path": "/dev/null", "Rate": "1"}, "needs a Path"), ({"Path": "/dev/null", "Rate": -5}, "invalid rate")])
def test_throttle_refuses_bad_devices_and_rates(item, words):
    with pytest.raises(InvalidArgument, match=words.replace("(", r"\(")):
        cf.throttle([item], "--device-read-bps", iops=False)


def test_weight_device_range():
    for item in ("/dev/null:5", "/dev/null:1001", "/dev/null:x", "/dev/null:-1", "/dev/null:99999999"):
        with pytest.raises(InvalidArgument, match="invalid weight for device"):
            cf.weight_devices([item])


def test_swappiness_oom_and_cgroupns_checks():
    for kw, words in (({"memory_swappiness": "101"}, "valid memory swappiness range is 0-100"),
                      ({"memory_swappiness": "-2"}, "valid memory swappiness range is 0-100"),
                      ({"oom_score_adj": "1001"}, r"range for oom score adj is \[-1000, 1000\]"),
                      ({"cgroupns": "shared"}, "--cgroupns: invalid CGROUP mode")):
        with pytest.raises(InvalidArgument, match=words):
            cf.check(_opts(**kw), False)
    got = cf.check(_opts(memory_swappiness="-1", oom_score_adj="-1000", cgroupns="host"), False)
    assert "memory_swappiness" not in got and got["oom_score_adj"] == -1000 and got["cgroupns"] == "host"


def _spec(limits: dict, privileged: bool = False) -> dict:
    return generate(SpecInputs(rootfs="/r", argv=["sh"], env=[], cwd="/", user=ExecUser(0, 0), hostname="h",
                               limits=limits, privileged=privileged, cgroups_path=cgroups_path("ID", "p/q")))


def test_spec_carries_the_flags_as_runc_names_them():
    dev = {"Path": "/dev/sda", "Major": 8, "Minor": 0}
    spec = _spec({"cpu_period": 40000, "cpu_cfs_quota": 20000, "cpu_rt_period": 500000, "cpu_rt_runtime": 1000,
                  "memory_swappiness": 3, "oom_kill_disable": True, "oom_score_adj": -17,
                  "blkio_weight_device": [dict(dev, Weight=200)], "blkio_read_bps": [dict(dev, Rate=10)],
                  "blkio_write_iops": [dict(dev, Rate=20)], "device_cgroup_rules": ["c 10:259 r", "b *:* rw"],
                  "cgroupns": "host"})
    res = spec["linux"]["resources"]
    assert res["cpu"] == {"period": 40000, "quota": 20000, "realtimePeriod": 500000, "realtimeRuntime": 1000}
    assert res["memory"] == {"swappiness": 3, "disableOOMKiller": True}
    assert res["blockIO"] == {"weightDevice": [{"major": 8, "minor": 0, "weight": 200}],
                              "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 10}],
                              "throttleWriteIOPSDevice": [{"major": 8, "minor": 0, "rate": 20}]}
    assert res["devices"][-2:] == [{"allow": True, "type": "c", "major": 10, "minor": 259, "access": "r"},
                                   {"allow": True, "type": "b", "major": None, "minor": None, "access": "rw"}]
    assert spec["process"]["oomScoreAdj"] == -17
    assert spec["linux"]["cgroupsPath"] == "/p/q/ID"
    assert "cgroup" not in [n["type"] for n in spec["linux"]["namespaces"]]


def test_spec_defaults_keep_a_private_cgroup_namespace_and_no_oom_adj():
    spec = _spec({})
    assert "cgroup" in [n["type"] for n in spec["linux"]["namespaces"]]
    assert "oomScoreAdj" not in spec["process"]
    assert _spec({"device_cgroup_rules": ["c 1:1 r"]}, privileged=True)["linux"]["resources"]["devices"] == [
        {"allow": True, "access": "rwm"}]


@pytest.mark.parametrize("v2", [False, True])
def test_warnings_go_to_the_callers_list_on_v1_and_v2(monkeypatch, capsys, v2):
    """The API gives them to its client in the create answer's Warnings (the docker CLI prints
    each); without a list they go to stderr as Docker's CLI prints them."""
    from sampan.runtime import cgroups
    monkeypatch.setattr(cgroups, "is_v2", lambda: v2)
    got: list[str] = []
    cf.check(_opts(memory_swappiness="10", oom_kill_disable=True, on_warning=got.append), False)
    if v2:
        assert got == ["Your kernel does not support memory swappiness capabilities or the cgroup is not mounted. "
                       "Memory swappiness discarded.",
                       "Your kernel does not support OomKillDisable. OomKillDisable discarded."]
    else:
        assert got == ["OOM killer is disabled for the container, but no memory limit is set, this can result in "
                       "the system running out of resources."]
    assert capsys.readouterr().err == ""
    cf.check(_opts(memory_swappiness="10", oom_kill_disable=True), False)
    assert capsys.readouterr().err == "".join(f"WARNING: {line}\n" for line in got)
