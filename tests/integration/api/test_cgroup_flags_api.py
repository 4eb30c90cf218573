"""The cgroup flags through the docker CLIs against `sampan system service`: HostConfig's
CpuPeriod/CpuQuota, CpuRealtime*, Blkio*Device*, MemorySwappiness, OomKillDisable,
OomScoreAdj, CgroupParent, CgroupnsMode and DeviceCgroupRules reach the container (read
back from inside), `inspect` shows them as Docker, /update takes the CFS pair, and bad
values are Docker's errors."""

import json
import os
import stat

import pytest

from tests.support import cgroups
from tests.support.api import docker_clis, docker_ok as ok, request

CLIS = docker_clis()
NONE = ["--network", "none"]


def _block_device() -> str:
    for name in sorted(os.listdir("/dev")):
        try:
            if stat.S_ISBLK(os.stat("/dev/" + name).st_mode):
                return "/dev/" + name
        except OSError:
            continue
    pytest.skip("no block device on this host")


@pytest.mark.parametrize("cli", CLIS)
def test_cpu_oom_and_cgroupns_fields(service, cli):
    cpu = "cat /sys/fs/cgroup/cpu.max" if cgroups.V2 else \
        "cat /sys/fs/cgroup/cpu/cpu.cfs_period_us /sys/fs/cgroup/cpu/cpu.cfs_quota_us"
    out = ok(service, cli, "run", "--name", "cg", *NONE, "--cpu-period", "40000", "--cpu-quota", "20000",
             "--oom-score-adj", "333", "--cgroupns", "private", "busybox", "sh", "-c",
             f"{cpu}; cat /proc/self/oom_score_adj; cat /proc/self/cgroup")
    lines = out.split()
    assert lines[:2] == (["20000", "40000"] if cgroups.V2 else ["40000", "20000"]), out
    assert lines[2] == "333" and all(x.endswith(":/") for x in lines[3:]), out
    hc = json.loads(ok(service, cli, "inspect", "cg"))[0]["HostConfig"]
    assert (hc["CpuPeriod"], hc["CpuQuota"], hc["OomScoreAdj"], hc["CgroupnsMode"]) == (40000, 20000, 333, "private")
    ok(service, cli, "update", "--cpu-quota", "30000", "cg")
    hc = json.loads(ok(service, cli, "inspect", "cg"))[0]["HostConfig"]
    assert hc["CpuQuota"] == 30000
    r = service.docker("update", "--cpus", "1", "cg", cli=cli)
    assert r.rc != 0 and "Nano CPUs cannot be updated as CPU Period has already been set" in r.err, r.err
    for args, line in ((["--cpus", "1", "--cpu-quota", "5000"], "Nano CPUs and CPU Quota cannot both be set"),
                       (["--oom-score-adj", "2000"], "range for oom score adj is [-1000, 1000]"),
                       (["--cpu-period", "10"], "CPU cfs period can not be less than 1ms")):
        r = service.docker("run", "--rm", *args, "busybox", "true", cli=cli)
        assert r.rc == 125 and line in r.err, (args, r.err)


@pytest.mark.parametrize("cli", CLIS)
def test_block_io_device_fields(service, cli):
    dev = _block_device()
    rdev = os.stat(dev).st_rdev
    mm = f"{os.major(rdev)}:{os.minor(rdev)}"
    script = "cat /sys/fs/cgroup/io.max" if cgroups.V2 else \
        "cat /sys/fs/cgroup/blkio/blkio.throttle.read_bps_device /sys/fs/cgroup/blkio/blkio.throttle.write_iops_device"
    out = ok(service, cli, "run", "--name", "bio", *NONE, "--device-read-bps", f"{dev}:1mb",
             "--device-write-iops", f"{dev}:30", "busybox", "sh", "-c", script)
    if cgroups.V2:
        assert f"{mm} rbps=1048576" in out and "wiops=30" in out, out
    else:
        assert out.split("\n")[:2] == [f"{mm} 1048576", f"{mm} 30"], out
    hc = json.loads(ok(service, cli, "inspect", "bio"))[0]["HostConfig"]
    assert hc["BlkioDeviceReadBps"] == [{"Path": dev, "Rate": 1048576}]
    assert hc["BlkioDeviceWriteIOps"] == [{"Path": dev, "Rate": 30}]
    r = service.docker("run", "--rm", "--device-read-bps", "/dev/null:1mb", "busybox", "true", cli=cli)
    assert r.rc == 125 and "/dev/null is not a block device" in r.err, r.err


@pytest.mark.parametrize("cli", CLIS)
def test_parent_rules_and_v1_memory_fields(service, cli):
    parent = f"sampan-api-parent-{os.getpid()}"
    try:
        args = ["--cgroup-parent", parent, "--device-cgroup-rule", "c 10:259 r"]
        if not cgroups.V2:
            args += ["--memory", "64m", "--memory-swappiness", "9", "--oom-kill-disable"]
        ok(service, cli, "run", "--name", "par", *NONE, *args, "busybox", "true")
        hc = json.loads(ok(service, cli, "inspect", "par"))[0]["HostConfig"]
        assert (hc["CgroupParent"], hc["DeviceCgroupRules"]) == (parent, ["c 10:259 r"])
        if not cgroups.V2:
            assert (hc["MemorySwappiness"], hc["OomKillDisable"]) == (9, True)
        r = service.docker("run", "--rm", "--cgroup-parent", "../../escape", "busybox", "true", cli=cli)
        assert r.rc == 125 and "--cgroup-parent" in r.err, r.err
        ok(service, cli, "rm", "par")
    finally:
        cgroups.remove_tree(parent)


@pytest.mark.skipif(cgroups.V2 or not (cgroups.ROOT / "cpu" / "cpu.rt_runtime_us").exists(),
                    reason="needs RT group scheduling (cgroup v1 cpu.rt_runtime_us)")
@pytest.mark.parametrize("cli", CLIS)
def test_realtime_fields(service, cli, rt_budget):
    out = ok(service, cli, "run", "--name", "rt", *NONE, "--cpu-rt-period", "400000", "--cpu-rt-runtime", "4000",
             "busybox", "cat", "/sys/fs/cgroup/cpu/cpu.rt_period_us", "/sys/fs/cgroup/cpu/cpu.rt_runtime_us")
    assert out.split() == ["400000", "4000"], out
    hc = json.loads(ok(service, cli, "inspect", "rt"))[0]["HostConfig"]
    assert (hc["CpuRealtimePeriod"], hc["CpuRealtimeRuntime"]) == (400000, 4000)
    ok(service, cli, "rm", "rt")


# What Docker's daemon says of --memory-swappiness and --oom-kill-disable on each hierarchy
DISCARDED = (["Your kernel does not support memory swappiness capabilities or the cgroup is not mounted. "
              "Memory swappiness discarded.",
              "Your kernel does not support OomKillDisable. OomKillDisable discarded."] if cgroups.V2 else
             ["OOM killer is disabled for the container, but no memory limit is set, this can result in "
              "the system running out of resources."])


@pytest.mark.parametrize("cli", CLIS)
def test_discarded_settings_are_the_create_answers_warnings(service, cli):
    """In the answer's Warnings, which the docker CLI prints, not in the service's log."""
    r = service.docker("create", "--name", "warned", *NONE, "--memory-swappiness", "10", "--oom-kill-disable",
                       "busybox", "true", cli=cli)
    assert r.rc == 0, r.err
    for line in DISCARDED:  # (docker 20.10 adds a warning of its own for --oom-kill-disable)
        assert r.err.count(f"WARNING: {line}\n") == 1, r.err
    body = json.dumps({"Image": "busybox", "Cmd": ["true"], "HostConfig": {
        "NetworkMode": "none", "MemorySwappiness": 10, "OomKillDisable": True}}).encode()
    status, _, answer = request(service, "POST", "/v1.41/containers/create?name=warned2", body,
                                {"Content-Type": "application/json"})
    assert status == 201 and json.loads(answer)["Warnings"] == DISCARDED, answer
    ok(service, cli, "rm", "warned", "warned2")
