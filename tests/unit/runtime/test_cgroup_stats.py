"""runtime/cgroups/stats.py on fake v1 and v2 trees: the files each version has, read into
one shape (the real kernels' are read by tests/integration/engine/test_stats.py, on the host's
v1 and in scripts/test-vm's v2 guest)."""

from pathlib import Path

from sampan.runtime.cgroups import CgroupV1, CgroupV2
from sampan.runtime.cgroups.stats import _TICK_NS, read


def _files(d: Path, files: dict) -> None:
    d.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (d / name).write_text(text)


def test_v2(tmp_path):
    _files(tmp_path / "sampan" / "c1", {
        "cpu.stat": "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 4\nnr_throttled 1\n"
                    "throttled_usec 20\n",
        "memory.current": "4096\n", "memory.max": "max\n", "memory.stat": "anon 1024\ninactive_file 512\n",
        "pids.current": "3\n", "pids.max": "max\n",
        "io.stat": "8:0 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n253:1 rbytes=5 wbytes=0\n"})
    s = read(CgroupV2(tmp_path, "sampan/c1"))
    assert s["cpu"] == {"total_ns": 1_500_000, "user_ns": 1_000_000, "system_ns": 500_000, "percpu": None,
                        "periods": 4, "throttled_periods": 1, "throttled_ns": 20_000}
    assert s["memory"] == {"usage": 4096, "max_usage": None, "limit": None,
                           "stats": {"anon": 1024, "inactive_file": 512}}
    assert s["pids"] == {"current": 3, "limit": None}
    assert s["io"] == [(8, 0, "read", 100), (8, 0, "write", 200), (253, 1, "read", 5), (253, 1, "write", 0)]


def test_v1(tmp_path):
    for h in ("cpu,cpuacct", "memory", "pids", "blkio"):
        _files(tmp_path / h, {"cgroup.procs": ""})
    _files(tmp_path / "cpu,cpuacct" / "sampan" / "c1", {
        "cpuacct.usage": "9000\n", "cpuacct.usage_percpu": "4000 5000 \n", "cpuacct.stat": "user 3\nsystem 1\n",
        "cpu.stat": "nr_periods 2\nnr_throttled 0\nthrottled_time 0\n"})
    _files(tmp_path / "memory" / "sampan" / "c1", {
        "memory.usage_in_bytes": "8192\n", "memory.max_usage_in_bytes": "10000\n",
        "memory.limit_in_bytes": "9223372036854771712\n", "memory.stat": "cache 10\ntotal_inactive_file 4\n"})
    _files(tmp_path / "pids" / "sampan" / "c1", {"pids.current": "2\n", "pids.max": "50\n"})
    _files(tmp_path / "blkio" / "sampan" / "c1", {
        "blkio.throttle.io_service_bytes_recursive": "8:0 Read 300\n8:0 Write 7\n8:0 Sync 0\n8:0 Total 307\n"
                                                     "Total 307\n"})
    s = read(CgroupV1(tmp_path, "sampan/c1"))
    assert s["cpu"] == {"total_ns": 9000, "user_ns": 3 * _TICK_NS, "system_ns": _TICK_NS, "percpu": [4000, 5000],
                        "periods": 2, "throttled_periods": 0, "throttled_ns": 0}
    assert s["memory"] == {"usage": 8192, "max_usage": 10000, "limit": None,
                           "stats": {"cache": 10, "total_inactive_file": 4}}
    assert s["pids"] == {"current": 2, "limit": 50}
    assert s["io"] == [(8, 0, "read", 300), (8, 0, "write", 7)]


def test_removal_writes_cgroup_kill_where_the_kernel_has_it(tmp_path, monkeypatch):
    """cgroup.kill (v2, Linux 5.14) kills the whole group in one write; a tree without the
    file (v1, older kernels) is never given one."""
    import os

    from sampan.runtime.cgroups import base
    with_kill, without = tmp_path / "a", tmp_path / "b"
    with_kill.mkdir()
    without.mkdir()
    (with_kill / "cgroup.kill").write_text("")
    written = {}
    real_rmdir = os.rmdir

    def rmdir(path):  # a real cgroup dir goes with its kernel files; a fake one needs help
        for f in os.listdir(path):
            written[f"{os.path.basename(path)}/{f}"] = open(os.path.join(path, f)).read()
            os.unlink(os.path.join(path, f))
        real_rmdir(path)
    monkeypatch.setattr(base.os, "rmdir", rmdir)
    base.kill_and_remove([with_kill, without])
    assert written == {"a/cgroup.kill": "1"}
    assert not with_kill.exists() and not without.exists()
