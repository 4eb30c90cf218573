"""cgroup v1 and v2 against fake cgroupfs trees in tmp_path."""

from pathlib import Path

import pytest

import sampan.runtime.cgroups.v1 as v1
import sampan.runtime.cgroups.v2 as v2
from sampan.runtime.cgroups import CgroupV1, CgroupV2, is_v2, open_cgroup
from sampan.errors import KernelFeatureMissing
from sampan.runtime.cgroups.v2 import shares_to_weight

RES = {"memory": {"limit": 1 << 26, "swap": 1 << 26}, "cpu": {"quota": 50000, "period": 100000},
       "pids": {"limit": 20}}


def fake_v1(root: Path) -> Path:
    for ctrl, files in {"memory": ["memory.limit_in_bytes", "memory.memsw.limit_in_bytes"],
                        "cpu": ["cpu.cfs_quota_us", "cpu.cfs_period_us"], "pids": ["pids.max"],
                        "cpuset": ["cpuset.cpus", "cpuset.mems"]}.items():
        (root / ctrl).mkdir(parents=True)
        (root / ctrl / "cgroup.procs").write_text("")
    (root / "cpuset" / "cpuset.cpus").write_text("0-1\n")
    (root / "cpuset" / "cpuset.mems").write_text("0\n")
    (root / "unified").mkdir()
    return root


def precreate_v1_files(cg: CgroupV1) -> None:
    # a real cgroupfs creates these files on mkdir; the fake needs them made by hand
    dirs = [(n, d) for n, d in cg.dirs().items()] + [(n, d.parent) for n, d in cg.dirs().items()
                                                      if d.parent != cg.root / n]
    for name, d in dirs:
        d.mkdir(parents=True, exist_ok=True)
        for f in {"memory": ["memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "memory.oom_control"],
                  "cpu": ["cpu.cfs_quota_us", "cpu.cfs_period_us"], "pids": ["pids.max"],
                  "cpuset": ["cpuset.cpus", "cpuset.mems"]}[name]:
            (d / f).write_text("")


def test_v1_applies_limits_per_controller(tmp_path):
    root = fake_v1(tmp_path / "cg")
    assert not is_v2(root)
    cg = open_cgroup("/sampan/abc", root)
    assert isinstance(cg, CgroupV1)
    assert set(cg.hierarchies()) == {"memory", "cpu", "pids", "cpuset"}
    precreate_v1_files(cg)
    cg.create(dict(RES, cpu=dict(RES["cpu"], cpus="1")))
    assert (root / "memory/sampan/abc/memory.limit_in_bytes").read_text() == str(1 << 26)
    assert (root / "memory/sampan/abc/memory.memsw.limit_in_bytes").read_text() == str(1 << 26)
    assert (root / "cpu/sampan/abc/cpu.cfs_quota_us").read_text() == "50000"
    assert (root / "cpu/sampan/abc/cpu.cfs_period_us").read_text() == "100000"
    assert (root / "pids/sampan/abc/pids.max").read_text() == "20"
    # a fresh cpuset inherits what the spec does not set from the parent chain
    assert (root / "cpuset/sampan/abc/cpuset.cpus").read_text() == "1"
    assert (root / "cpuset/sampan/abc/cpuset.mems").read_text() == "0"
    cg.join(1234)
    assert (root / "memory/sampan/abc/cgroup.procs").read_text() == "1234"


def test_v1_oom_killed_reads_oom_control(tmp_path):
    root = fake_v1(tmp_path / "cg")
    cg = open_cgroup("x", root)
    precreate_v1_files(cg)
    (root / "memory/x/memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 0\n")
    assert not cg.oom_killed()
    (root / "memory/x/memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n")
    assert cg.oom_killed()


@pytest.fixture(autouse=True)
def no_bpf(monkeypatch):
    """The fake tree is no cgroupfs: record the device rules instead of attaching BPF."""
    attached = []
    monkeypatch.setattr(CgroupV2, "attach_devices", staticmethod(lambda d, rules: attached.append((d, rules))))
    return attached


def fake_v2(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "cgroup.controllers").write_text("cpuset cpu io memory hugetlb pids\n")
    (root / "cgroup.subtree_control").write_text("")
    return root


def test_v2_enables_controllers_down_the_tree_and_applies_limits(tmp_path, monkeypatch):
    root = fake_v2(tmp_path / "cg")
    assert is_v2(root)
    cg = open_cgroup("/sampan/abc", root)
    assert isinstance(cg, CgroupV2)
    # a real kernel makes these on mkdir
    (root / "sampan").mkdir()
    (root / "sampan" / "cgroup.subtree_control").write_text("")
    writes = []
    real_write = v2.write
    monkeypatch.setattr(v2, "write", lambda p, v: (writes.append((str(p.relative_to(root)), v)), real_write(p, v)))
    cg.create(RES)
    enables = [w for w in writes if w[0].endswith("subtree_control")]
    assert enables == [(f, "+" + c) for f in ("cgroup.subtree_control", "sampan/cgroup.subtree_control")
                       for c in ("cpu", "cpuset", "memory", "pids", "io")]
    d = root / "sampan/abc"
    assert (d / "memory.max").read_text() == str(1 << 26)
    assert (d / "memory.swap.max").read_text() == "0"  # swap == limit: no swap at all
    assert (d / "cpu.max").read_text() == "50000 100000"
    assert (d / "pids.max").read_text() == "20"
    cg.join(77)
    assert (d / "cgroup.procs").read_text() == "77"


def test_v2_unlimited_values_and_weight():
    assert shares_to_weight(1024) == 39
    assert shares_to_weight(2) == 1
    assert shares_to_weight(262144) == 10000


def test_v2_oom_killed_reads_memory_events(tmp_path):
    root = fake_v2(tmp_path / "cg")
    cg = open_cgroup("c", root)
    (root / "c").mkdir()
    (root / "c/memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 0\n")
    assert not cg.oom_killed()
    (root / "c/memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
    assert cg.oom_killed()


def test_v2_remove_rmdirs_an_empty_cgroup(tmp_path):
    root = fake_v2(tmp_path / "cg")
    cg = open_cgroup("gone", root)
    (root / "gone").mkdir()
    assert cg.exists()
    cg.remove()
    assert not cg.exists()
    cg.remove()  # idempotent


def test_v1_joins_only_the_hierarchies_it_needs(tmp_path, monkeypatch):
    root = fake_v1(tmp_path / "cg")
    (root / "devices").mkdir()
    (root / "devices" / "cgroup.procs").write_text("")
    cg = open_cgroup("/s/plain", root)
    monkeypatch.setattr(v1, "write", lambda path, value: None)
    monkeypatch.setattr(v1, "write_each", lambda path, values: None)
    # known before the cgroup exists: the runtime forks the child first
    assert set(cg.mount_sources({})) == {"memory", "cpu", "pids", "devices"}
    assert "cpuset" in cg.mount_sources({"cpu": {"cpus": "0"}})
    assert cg.existing() == {}
    cg.create({})
    assert set(cg.existing()) == {"memory", "cpu", "pids", "devices"}
    assert set(cg.mount_sources()) == {"memory", "cpu", "pids", "devices"}
    cg.join(5)
    assert not (root / "cpuset/s/plain").exists()


def test_v1_device_rules_deny_all_then_allow(tmp_path, monkeypatch):
    root = fake_v1(tmp_path / "cg")
    (root / "devices").mkdir()
    (root / "devices" / "cgroup.procs").write_text("")
    cg = open_cgroup("/s/dev", root)
    written = []
    monkeypatch.setattr(v1, "write", lambda path, value: written.append((path.name, value)))
    monkeypatch.setattr(v1, "write_each", lambda path, values: written.extend((path.name, v) for v in values))
    cg.create({"devices": [{"allow": False, "access": "rwm"},
                           {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
                           {"allow": True, "type": "c", "major": 136, "access": "rwm"}]})
    assert written[:4] == [("devices.deny", "a"), ("devices.deny", "a"), ("devices.allow", "c 1:3 rwm"),
                           ("devices.allow", "c 136:* rwm")]
    assert written[4:6] == [("devices.allow", "c *:* m"), ("devices.allow", "b *:* m")]  # mknod, as runc
    assert ("devices.allow", "c 1:5 rwm") in written[6:]


def test_v2_an_optional_controller_that_cannot_be_enabled_is_skipped(tmp_path, monkeypatch):
    from sampan.errors import RuntimeFailure
    root = fake_v2(tmp_path / "cg")
    real_write = v2.write

    def refuse_io(path, value):
        if value in ("+io", "+pids"):
            raise RuntimeFailure(f"cannot write {value!r} to {path}: No such file or directory")
        real_write(path, value)
    monkeypatch.setattr(v2, "write", lambda p, v: refuse_io(p, v) if v != "+pids" else real_write(p, v))
    open_cgroup("a", root).create({})
    monkeypatch.setattr(v2, "write", refuse_io)
    with pytest.raises(KernelFeatureMissing) as e:
        open_cgroup("b", fake_v2(tmp_path / "cg2")).create({})  # pids is required
    # one line that names the controller and how to enable it
    assert "pids controller" in str(e.value) and "echo +pids > " in str(e.value)
    assert "\n" not in str(e.value)


def test_v2_a_required_controller_missing_from_the_root_is_named(tmp_path):
    root = fake_v2(tmp_path / "cg")
    (root / "cgroup.controllers").write_text("cpu io pids\n")
    with pytest.raises(KernelFeatureMissing, match="cgroup v2 memory controller is not available"):
        open_cgroup("a", root).create({})


def test_v2_device_rules_go_to_a_bpf_program_deny_all_first(tmp_path, no_bpf):
    root = fake_v2(tmp_path / "cg")
    (root / "d").mkdir()
    rule = {"allow": True, "type": "c", "major": 4, "minor": 1, "access": "rw"}
    open_cgroup("d", root).create({"devices": [rule]})
    (where, rules), = no_bpf
    assert where == str(root / "d")
    assert rules[0] == {"allow": False, "access": "rwm"} and rules[1] == rule
    assert {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"} in rules[2:]


def test_prime_finds_the_callers_own_cgroup_procs_file_v1(tmp_path):
    from sampan.runtime.cgroups.prime import own_procs_file
    root = tmp_path / "cg"
    (root / "pids" / "user.slice").mkdir(parents=True)
    (root / "pids" / "user.slice" / "cgroup.procs").write_text("")
    (root / "systemd" / "user.slice").mkdir(parents=True)
    (root / "systemd" / "user.slice" / "cgroup.procs").write_text("")
    proc = tmp_path / "cgroup"
    # name=systemd comes first but is never the one written to; the unified line is ignored on v1
    proc.write_text("9:name=systemd:/user.slice\n8:pids:/user.slice\n0::/user.slice\n")
    assert own_procs_file(str(proc), str(root)) == str(root / "pids" / "user.slice" / "cgroup.procs")


def test_prime_finds_the_callers_own_cgroup_procs_file_v2(tmp_path):
    from sampan.runtime.cgroups.prime import own_procs_file
    root = tmp_path / "cg"
    (root / "a" / "b").mkdir(parents=True)
    (root / "cgroup.controllers").write_text("memory pids\n")
    (root / "a" / "b" / "cgroup.procs").write_text("")
    proc = tmp_path / "cgroup"
    proc.write_text("0::/a/b\n")
    assert own_procs_file(str(proc), str(root)) == str(root / "a" / "b" / "cgroup.procs")
    proc.write_text("0::/gone\n")
    assert own_procs_file(str(proc), str(root)) is None  # nothing to write: prime does nothing


def test_hierarchy_and_controllers_for_info(tmp_path):
    from sampan.runtime.cgroups import controllers, hierarchy
    hybrid = fake_v1(tmp_path / "hybrid")
    (hybrid / "unified" / "cgroup.controllers").write_text("")
    (hybrid / "systemd").mkdir()  # name=systemd: a hierarchy without a controller
    (hybrid / "systemd" / "cgroup.procs").write_text("")
    assert hierarchy(hybrid) == "hybrid"
    assert controllers(hybrid) == ["cpu", "cpuset", "memory", "pids"]
    legacy = fake_v1(tmp_path / "legacy")
    assert hierarchy(legacy) == "legacy"
    unified = tmp_path / "unified"
    unified.mkdir()
    (unified / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    assert hierarchy(unified) == "unified"
    assert controllers(unified) == ["cpuset", "cpu", "io", "memory", "pids"]


def test_v2_writes_reservation_weights_and_cpuset(tmp_path):
    root = fake_v2(tmp_path / "cg")
    cg = open_cgroup("w", root)
    (root / "w").mkdir()
    cg.create({"memory": {"limit": 1 << 26, "swap": 1 << 27, "reservation": 1 << 25},
               "cpu": {"shares": 512, "cpus": "0", "mems": "0"}, "blockIO": {"weight": 500}})
    d = root / "w"
    got = {f: (d / f).read_text() for f in ("memory.swap.max", "memory.low", "cpu.weight", "cpuset.cpus",
                                            "cpuset.mems", "io.weight")}
    assert got == {"memory.swap.max": str(1 << 26), "memory.low": str(1 << 25), "cpu.weight": "20",
                   "cpuset.cpus": "0", "cpuset.mems": "0", "io.weight": "4950"}
    (d / "io.bfq.weight").write_text("")  # BFQ's file, when present, takes v1's range as is
    cg.create({"blockIO": {"weight": 500}})
    assert (d / "io.bfq.weight").read_text() == "500"


def test_v1_writes_soft_limit_shares_and_blkio_weight(tmp_path):
    root = fake_v1(tmp_path / "cg")
    (root / "blkio").mkdir()
    (root / "blkio" / "cgroup.procs").write_text("")
    cg = open_cgroup("s", root)
    for d in cg.dirs().values():
        d.mkdir(parents=True)
    (root / "cpuset/s/cpuset.cpus").write_text("")
    (root / "cpuset/s/cpuset.mems").write_text("")
    (root / "blkio/s/blkio.weight").write_text("")
    cg.create({"memory": {"limit": 1 << 26, "swap": -1, "reservation": 1 << 25},
               "cpu": {"shares": 512, "cpus": "1", "mems": "0"}, "blockIO": {"weight": 300}})
    got = {p: (root / p).read_text() for p in ("memory/s/memory.soft_limit_in_bytes", "cpu/s/cpu.shares",
                                               "cpuset/s/cpuset.cpus", "blkio/s/blkio.weight")}
    assert got == {"memory/s/memory.soft_limit_in_bytes": str(1 << 25), "cpu/s/cpu.shares": "512",
                   "cpuset/s/cpuset.cpus": "1", "blkio/s/blkio.weight": "300"}
