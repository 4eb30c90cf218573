"""The cgroup flags' files (engine/cgroup_flags.py's values, as linux.resources) on fake v1
and v2 trees: what each version writes where, including the v2 paths this v1 host cannot
run for real (scripts/test-vm's guest does)."""

from pathlib import Path

import pytest

from sampan.errors import KernelFeatureMissing
from sampan.runtime.cgroups import CgroupV1, open_cgroup
from sampan.runtime.cgroups.v2 import blkio_to_io_weight, io_max_lines

BLOCK_IO = {"weightDevice": [{"major": 8, "minor": 0, "weight": 300}],
            "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}],
            "throttleWriteBpsDevice": [{"major": 8, "minor": 0, "rate": 2097152}],
            "throttleReadIOPSDevice": [{"major": 8, "minor": 16, "rate": 100}],
            "throttleWriteIOPSDevice": [{"major": 8, "minor": 0, "rate": 200}]}


def _v2(root: Path, rel: str) -> Path:
    root.mkdir(parents=True)
    (root / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    (root / "cgroup.subtree_control").write_text("")
    d = root / rel
    d.mkdir(parents=True)
    for f in ("io.max", "io.weight", "cpu.max", "memory.max"):
        (d / f).write_text("")
    return d


def _v1(root: Path, rel: str) -> CgroupV1:
    files = {"memory": ["memory.limit_in_bytes", "memory.swappiness", "memory.oom_control"],
             "cpu": ["cpu.cfs_period_us", "cpu.cfs_quota_us", "cpu.rt_period_us", "cpu.rt_runtime_us"],
             "pids": [], "blkio": ["blkio.weight_device", "blkio.throttle.read_bps_device",
                                   "blkio.throttle.write_bps_device", "blkio.throttle.read_iops_device",
                                   "blkio.throttle.write_iops_device"]}
    for ctrl, names in files.items():
        (root / ctrl).mkdir(parents=True)
        (root / ctrl / "cgroup.procs").write_text("")
        d = root / ctrl / rel
        d.mkdir(parents=True)
        for parent in [d, *list(d.parents)[:len(Path(rel).parts) - 1]]:
            for n in names:
                (parent / n).write_text({"cpu.rt_runtime_us": "0", "cpu.rt_period_us": "1000000"}.get(n, ""))
    cg = open_cgroup(rel, root)
    assert isinstance(cg, CgroupV1)
    return cg


def test_v2_io_max_merges_the_four_throttles_per_device():
    assert io_max_lines(BLOCK_IO) == ["8:0 rbps=1048576 wbps=2097152 wiops=200", "8:16 riops=100"]


def test_v2_writes_io_max_io_weight_and_cpu_max(tmp_path):
    d = _v2(tmp_path / "cg", "sampan/x")
    cg = open_cgroup("sampan/x", tmp_path / "cg")
    cg.update_limits({"cpu": {"period": 40000, "quota": 20000}, "blockIO": BLOCK_IO})
    assert (d / "cpu.max").read_text() == "20000 40000"
    # one write(2) per line through one open file (a fake file concatenates them)
    assert (d / "io.max").read_text() == "8:0 rbps=1048576 wbps=2097152 wiops=2008:16 riops=100"
    assert (d / "io.weight").read_text() == f"8:0 {blkio_to_io_weight(300)}"
    cg.update_limits({"cpu": {"period": 50000}})  # a period alone: no quota, unlimited
    assert (d / "cpu.max").read_text() == "max 50000"
    cg.update_limits({"cpu": {"quota": -1, "period": 50000}})
    assert (d / "cpu.max").read_text() == "max 50000"


def test_v2_io_bfq_weight_takes_v1_range(tmp_path):
    d = _v2(tmp_path / "cg", "x")
    (d / "io.bfq.weight").write_text("")
    open_cgroup("x", tmp_path / "cg").update_limits({"blockIO": {"weightDevice": BLOCK_IO["weightDevice"]}})
    assert (d / "io.bfq.weight").read_text() == "8:0 300"


def test_v2_refuses_realtime_groups(tmp_path):
    _v2(tmp_path / "cg", "x")
    with pytest.raises(KernelFeatureMissing, match="real-time"):
        open_cgroup("x", tmp_path / "cg").update_limits({"cpu": {"realtimeRuntime": 1000}})


def test_v2_ignores_v1_only_memory_knobs(tmp_path):
    d = _v2(tmp_path / "cg", "x")
    open_cgroup("x", tmp_path / "cg").update_limits({"memory": {"swappiness": 5, "disableOOMKiller": True}})
    assert sorted(p.name for p in d.iterdir()) == ["cpu.max", "io.max", "io.weight", "memory.max"]


def test_v1_writes_throttles_weights_swappiness_and_oom_control(tmp_path):
    root = tmp_path / "cg"
    cg = _v1(root, "p/x")
    cg.update_limits({"memory": {"swappiness": 7, "disableOOMKiller": True}, "blockIO": BLOCK_IO})
    b = root / "blkio/p/x"
    assert (b / "blkio.weight_device").read_text() == "8:0 300"
    assert (b / "blkio.throttle.read_bps_device").read_text() == "8:0 1048576"
    assert (b / "blkio.throttle.write_bps_device").read_text() == "8:0 2097152"
    assert (b / "blkio.throttle.read_iops_device").read_text() == "8:16 100"
    assert (b / "blkio.throttle.write_iops_device").read_text() == "8:0 200"
    assert (root / "memory/p/x/memory.swappiness").read_text() == "7"
    assert (root / "memory/p/x/memory.oom_control").read_text() == "1"


def test_v1_realtime_gives_the_parents_room_first(tmp_path, monkeypatch):
    import sampan.runtime.cgroups.v1 as v1
    root = tmp_path / "cg"
    cg = _v1(root, "p/x")
    writes = []
    real = v1.write
    monkeypatch.setattr(v1, "write", lambda p, v: (writes.append((str(p.relative_to(root)), v)), real(p, v)))
    cg.update_limits({"cpu": {"realtimePeriod": 500000, "realtimeRuntime": 10000}})
    # the child's share is 2%: its parent (period 1 s) needs 20000 µs, written before the child's
    assert writes == [("cpu/p/x/cpu.rt_period_us", "500000"), ("cpu/p/cpu.rt_runtime_us", "20000"),
                      ("cpu/p/x/cpu.rt_runtime_us", "10000")]


def test_v1_realtime_parents_keep_room_for_their_other_children(tmp_path):
    # the kernel wants the children's shares to add up within the parent's: a second RT
    # container beside a first (2%) must raise /p to 2% + its 1%, not to its own 1%
    root = tmp_path / "cg"
    _v1(root, "p/x")
    first = root / "cpu/p/x"
    (first / "cpu.rt_period_us").write_text("500000")
    (first / "cpu.rt_runtime_us").write_text("10000")
    (root / "cpu/p/cpu.rt_runtime_us").write_text("20000")
    (root / "cpu/p/y").mkdir()
    for n in ("cpu.rt_period_us", "cpu.rt_runtime_us"):
        (root / "cpu/p/y" / n).write_text({"cpu.rt_runtime_us": "0", "cpu.rt_period_us": "1000000"}[n])
    for ctrl in ("memory", "pids", "blkio"):
        (root / ctrl / "p/y").mkdir()
    second = open_cgroup("p/y", root)
    second.update_limits({"cpu": {"realtimePeriod": 400000, "realtimeRuntime": 4000}})
    assert (root / "cpu/p/cpu.rt_runtime_us").read_text() == "30000"
    assert (root / "cpu/p/y/cpu.rt_runtime_us").read_text() == "4000"
