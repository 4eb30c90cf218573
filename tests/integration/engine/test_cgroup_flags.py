"""--cpu-period/--cpu-quota, --cpu-rt-*, --device-*-bps/iops, --blkio-weight-device,
--memory-swappiness, --oom-kill-disable, --oom-score-adj, --kernel-memory, --cgroup-parent,
--cgroupns, --device-cgroup-rule: each effect read back from inside a real container (its
own cgroup files, /proc/self/oom_score_adj, /proc/self/cgroup), `inspect` as Docker shows
it, and bad values as Docker's one-line errors with exit 125."""

import json
import os
import stat

import pytest

from tests.support import cgroups

NONET = ["--network", "none"]


def _block_device() -> str:
    """A block device of this host (a test machine has a disk or loop devices)."""
    for name in sorted(os.listdir("/dev")):
        path = "/dev/" + name
        try:
            if stat.S_ISBLK(os.stat(path).st_mode):
                return path
        except OSError:
            continue
    pytest.skip("no block device on this host")


def _majmin(path: str) -> str:
    rdev = os.stat(path).st_rdev
    return f"{os.major(rdev)}:{os.minor(rdev)}"


@pytest.mark.parametrize("runtime", ["native", "runc"])
def test_cpu_period_and_quota_in_own_cgroup(sampan, runtime):
    files = "cpu.max" if cgroups.V2 else "cpu/cpu.cfs_period_us cpu/cpu.cfs_quota_us"
    out = sampan.ok("run", "--rm", *NONET, "--runtime", runtime, "--cpu-period", "50000", "--cpu-quota", "25000",
                    "busybox", "sh", "-c", f"cd /sys/fs/cgroup && cat {files}")
    assert out.split() == (["25000", "50000"] if cgroups.V2 else ["50000", "25000"]), out


def test_cpu_flags_in_inspect_and_conflicts(sampan):
    sampan.ok("create", "--name", "cq", "--cpu-period", "20000", "--cpu-quota", "-1", "busybox", "true")
    host = json.loads(sampan.ok("inspect", "cq"))[0]["HostConfig"]
    assert (host["CpuPeriod"], host["CpuQuota"], host["NanoCpus"]) == (20000, -1, 0)
    sampan.ok("rm", "cq")
    for args, line in (
            (["--cpus", "1", "--cpu-period", "50000"],
             "Conflicting options: Nano CPUs and CPU Period cannot both be set"),
            (["--cpus", "1", "--cpu-quota", "50000"],
             "Conflicting options: Nano CPUs and CPU Quota cannot both be set"),
            (["--cpu-period", "999"],
             "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)"),
            (["--cpu-period", "1000001"], "CPU cfs period can not be less than 1ms"),
            (["--cpu-quota", "999"], "CPU cfs quota can not be less than 1ms (i.e. 1000)"),
            (["--cpu-quota", "x"], "--cpu-quota")):
        r = sampan("run", "--rm", *args, "busybox", "true")
        assert r.rc == 125 and line in r.err and r.err.count("\n") == 1, (args, r.err)
    assert sampan("ps", "-aq").out == ""


@pytest.mark.skipif(cgroups.V2 or not (cgroups.ROOT / "cpu" / "cpu.rt_runtime_us").exists(),
                    reason="needs RT group scheduling (cgroup v1 cpu.rt_runtime_us)")
def test_cpu_rt_runtime_in_own_cgroup(sampan, rt_budget):
    out = sampan.ok("run", "--rm", *NONET, "--cpu-rt-period", "500000", "--cpu-rt-runtime", "10000", "busybox",
                    "cat", "/sys/fs/cgroup/cpu/cpu.rt_period_us", "/sys/fs/cgroup/cpu/cpu.rt_runtime_us")
    assert out.split() == ["500000", "10000"], out
    r = sampan("run", "--rm", "--cpu-rt-period", "1000", "--cpu-rt-runtime", "2000", "busybox", "true")
    assert r.rc == 125 and "cpu-rt-runtime cannot be higher than cpu-rt-period" in r.err, r.err


@pytest.mark.skipif(not cgroups.V2, reason="cgroup v2 only: no RT groups there")
def test_cpu_rt_refused_on_v2(sampan):
    r = sampan("run", "--rm", "--cpu-rt-runtime", "1000", "busybox", "true")
    assert r.rc == 125 and "real-time" in r.err and r.err.count("\n") == 1, r.err


def test_device_throttles_in_own_cgroup(sampan):
    dev = _block_device()
    mm = _majmin(dev)
    flags = ["--device-read-bps", f"{dev}:1mb", "--device-write-bps", f"{dev}:2mb",
             "--device-read-iops", f"{dev}:100", "--device-write-iops", f"{dev}:200"]
    if cgroups.V2:
        script = "cat /sys/fs/cgroup/io.max"
    else:
        script = "cd /sys/fs/cgroup/blkio && cat blkio.throttle.read_bps_device blkio.throttle.write_bps_device " \
                 "blkio.throttle.read_iops_device blkio.throttle.write_iops_device"
    out = sampan.ok("run", "--name", "io1", *NONET, *flags, "busybox", "sh", "-c", script)
    if cgroups.V2:
        assert f"{mm} rbps=1048576 wbps=2097152 riops=100 wiops=200" in out, out
    else:
        assert out.split("\n")[:4] == [f"{mm} 1048576", f"{mm} 2097152", f"{mm} 100", f"{mm} 200"], out
    host = json.loads(sampan.ok("inspect", "io1"))[0]["HostConfig"]
    assert host["BlkioDeviceReadBps"] == [{"Path": dev, "Rate": 1048576}]
    assert host["BlkioDeviceWriteIOps"] == [{"Path": dev, "Rate": 200}]
    assert host["BlkioWeightDevice"] == []
    sampan.ok("rm", "io1")


def test_device_flags_refuse_what_is_not_a_block_device(sampan, tmp_path):
    dev = _block_device()
    link = tmp_path / "link"
    os.symlink("/dev/null", link)
    for args, line in (
            (["--device-read-bps", "/dev/null:1mb"], "/dev/null is not a block device"),
            (["--device-read-bps", "/dev/nope:1mb"], "stat /dev/nope: no such file or directory"),
            (["--device-write-iops", f"{link}:5"], f"bad format for device path: {link}:5"),
            (["--device-read-bps", f"{dev}"], f"bad format: {dev}"),
            (["--device-read-bps", f"{dev}:fast"], f"invalid rate for device: {dev}:fast. The correct format is "
                                                   "<device-path>:<number>[<unit>]"),
            (["--device-read-iops", f"{dev}:1k"], f"invalid rate for device: {dev}:1k. The correct format is "
                                                  "<device-path>:<number>. Number must be a positive integer"),
            (["--device-write-bps", "/dev/../proc/self/mem:1"], "is not a block device"),
            (["--blkio-weight-device", f"{dev}:5"], f"invalid weight for device: {dev}:5"),
            (["--blkio-weight-device", "/dev/zero:500"], "/dev/zero is not a block device")):
        r = sampan("run", "--rm", *args, "busybox", "true")
        assert r.rc == 125 and line in r.err and r.err.count("\n") == 1, (args, r.err)
    assert sampan("ps", "-aq").out == ""


@pytest.mark.skipif(cgroups.V2, reason="memory.swappiness and memory.oom_control are cgroup v1's")
def test_swappiness_and_oom_kill_disable_on_v1(sampan):
    out = sampan.ok("run", "--name", "mm", *NONET, "--memory", "64m", "--memory-swappiness", "7",
                    "--oom-kill-disable", "busybox", "sh", "-c",
                    "cat /sys/fs/cgroup/memory/memory.swappiness; grep oom_kill_disable "
                    "/sys/fs/cgroup/memory/memory.oom_control")
    assert out.split() == ["7", "oom_kill_disable", "1"], out
    host = json.loads(sampan.ok("inspect", "mm"))[0]["HostConfig"]
    assert (host["MemorySwappiness"], host["OomKillDisable"]) == (7, True)
    sampan.ok("rm", "mm")


@pytest.mark.skipif(not cgroups.V2, reason="v2: Docker warns and ignores them")
def test_swappiness_and_oom_kill_disable_warn_on_v2(sampan):
    r = sampan("run", "--rm", *NONET, "--memory-swappiness", "7", "--oom-kill-disable", "busybox", "true")
    assert r.rc == 0 and "Memory swappiness discarded" in r.err and "OomKillDisable discarded" in r.err, r.err


def test_bad_memory_swappiness_and_oom_score_adj(sampan):
    for args, line in (
            (["--memory-swappiness", "101"], "Invalid value: 101, valid memory swappiness range is 0-100"),
            (["--oom-score-adj", "1001"], "Invalid value 1001, range for oom score adj is [-1000, 1000]"),
            (["--oom-score-adj", "-1001"], "Invalid value -1001, range for oom score adj is [-1000, 1000]"),
            (["--oom-score-adj", "x"], "--oom-score-adj")):
        r = sampan("run", "--rm", *args, "busybox", "true")
        assert r.rc == 125 and line in r.err and r.err.count("\n") == 1, (args, r.err)


@pytest.mark.parametrize("runtime", ["native", "runc"])
def test_oom_score_adj_inside(sampan, runtime):
    out = sampan.ok("run", "--rm", *NONET, "--runtime", runtime, "--oom-score-adj", "567", "busybox",
                    "cat", "/proc/self/oom_score_adj")
    assert out.strip() == "567", out


def test_kernel_memory_is_accepted_and_ignored(sampan):
    r = sampan("run", "--name", "km", *NONET, "--kernel-memory", "50m", "busybox", "true")
    assert r.rc == 0 and "--kernel-memory has been deprecated" in r.err, r.err
    assert r.err.count("\n") == 1, r.err
    sampan.ok("rm", "km")


def test_cgroup_parent_places_the_cgroup(sampan):
    parent = f"sampan-test-parent-{os.getpid()}/sub"
    try:
        cid = sampan.ok("run", "-d", *NONET, "--cgroup-parent", parent, "busybox", "sleep", "30").strip()
        where = cgroups.ROOT / (parent if cgroups.V2 else "memory/" + parent) / cid
        assert where.is_dir(), where
        host = json.loads(sampan.ok("inspect", cid))[0]["HostConfig"]
        assert host["CgroupParent"] == parent
        sampan.ok("pause", cid)
        assert json.loads(sampan.ok("inspect", cid))[0]["State"]["Status"] == "paused"
        sampan.ok("unpause", cid)
        sampan.ok("rm", "-f", cid)
        assert not where.exists()
    finally:
        cgroups.remove_tree(parent.split("/")[0])


def test_cgroup_parent_refuses_escapes(sampan):
    for bad in ("..", "../../etc", "a/../../b", "/..", "a/./b", "a//b", "x.slice", "a:b:c"):
        r = sampan("run", "--rm", "--cgroup-parent", bad, "busybox", "true")
        assert r.rc == 125 and "--cgroup-parent" in r.err and r.err.count("\n") == 1, (bad, r.err)
    assert not (cgroups.ROOT / ("memory" if not cgroups.V2 else "") / "etc").exists()


@pytest.mark.parametrize("runtime", ["native", "runc"])
def test_cgroupns_private_and_host(sampan, runtime):
    private = sampan.ok("run", "--rm", *NONET, "--runtime", runtime, "--cgroupns", "private", "busybox",
                        "cat", "/proc/self/cgroup")
    assert all(line.endswith(":/") for line in private.split()), private
    cid_out = sampan.ok("run", "--name", "hc", *NONET, "--runtime", runtime, "--cgroupns", "host", "busybox",
                        "cat", "/proc/self/cgroup")
    cid = json.loads(sampan.ok("inspect", "hc"))[0]["Id"]
    assert f"/sampan/{cid}" in cid_out, cid_out
    assert json.loads(sampan.ok("inspect", "hc"))[0]["HostConfig"]["CgroupnsMode"] == "host"
    sampan.ok("rm", "hc")
    r = sampan("run", "--rm", "--cgroupns", "shared", "busybox", "true")
    assert r.rc == 125 and "--cgroupns: invalid CGROUP mode" in r.err, r.err


def test_device_cgroup_rule_allows_a_device(sampan):
    # a readable host char device outside the default rules, its node made inside: denied by
    # default, readable with the rule (a disk is not: this host refuses even root's reads)
    dev = next((d for d in ("/dev/cpu_dma_latency", "/dev/vga_arbiter") if os.path.exists(d)), None)
    if dev is None:
        pytest.skip("no /dev/cpu_dma_latency or /dev/vga_arbiter on this host")
    major, minor = _majmin(dev).split(":")
    script = f"mknod /tmp/d c {major} {minor} && head -c 1 /tmp/d | wc -c"
    denied = sampan("run", "--rm", *NONET, "busybox", "sh", "-c", script)
    assert "Operation not permitted" in denied.err and denied.out.strip() == "0", denied
    rule = f"c {major}:{minor} r"
    allowed = sampan.ok("run", "--name", "dr", *NONET, "--device-cgroup-rule", rule, "busybox", "sh", "-c", script)
    assert allowed.strip() == "1", allowed
    assert json.loads(sampan.ok("inspect", "dr"))[0]["HostConfig"]["DeviceCgroupRules"] == [rule]
    sampan.ok("rm", "dr")
    for bad in ("c 1:5", "x 1:5 r", "c 1:5 rwmx", "c a:5 r", "c 1:5  r", "c 1:5 r\n", "a", "c -1:5 r"):
        r = sampan("run", "--rm", "--device-cgroup-rule", bad, "busybox", "true")
        assert r.rc == 125 and "invalid device cgroup format" in r.err, (bad, r.err)


def test_update_cpu_period_and_quota_live(sampan):
    cid = sampan.ok("run", "-d", *NONET, "--cpu-period", "50000", "--cpu-quota", "25000", "busybox",
                    "sleep", "30").strip()
    sampan.ok("update", "--cpu-period", "80000", "--cpu-quota", "40000", cid)
    files = ["cpu.max"] if cgroups.V2 else ["cpu/cpu.cfs_period_us", "cpu/cpu.cfs_quota_us"]
    seen = sampan.ok("exec", cid, "cat", *("/sys/fs/cgroup/" + f for f in files)).split()
    assert seen == (["40000", "80000"] if cgroups.V2 else ["80000", "40000"]), seen
    host = json.loads(sampan.ok("inspect", cid))[0]["HostConfig"]
    assert (host["CpuPeriod"], host["CpuQuota"]) == (80000, 40000)
    r = sampan("update", "--cpus", "1", cid)
    assert r.rc == 1 and "Nano CPUs cannot be updated as CPU Period has already been set" in r.err, r.err
    r = sampan("update", "--cpu-quota", "10", cid)
    assert r.rc == 1 and "CPU cfs quota can not be less than 1ms" in r.err, r.err
    sampan.ok("rm", "-f", cid)


def test_explain_names_each_new_limit_file(sampan):
    dev = _block_device()
    r = sampan("--explain", "run", "--rm", *NONET, "--cpu-period", "50000", "--device-read-bps", f"{dev}:1mb",
               "--oom-score-adj", "10", "busybox", "true")
    assert r.rc == 0, r.err
    lines = [line.split("cgroup limit: ", 1)[1] for line in r.err.splitlines() if "cgroup limit: " in line]
    period = "cpu.max = max 50000" if cgroups.V2 else "cpu.cfs_period_us = 50000"
    throttle = f"io.max = {_majmin(dev)} rbps=1048576" if cgroups.V2 else \
        f"blkio.throttle.read_bps_device = {_majmin(dev)} 1048576"
    assert any(line.endswith(period) for line in lines), lines
    assert any(line.endswith(throttle) for line in lines), lines
    assert "oom score: /proc/self/oom_score_adj = 10" in r.err, r.err
