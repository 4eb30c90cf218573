"""store/tempfiles: a scratch name says who owns it; sweep removes only a dead owner's."""

import os
import subprocess
import time

from sampan.store.tempfiles import LEGACY_AGE, owner_stamp, sweep, temp_name


def test_sweep_removes_dead_owners_only(tmp_path):
    mine = tmp_path / temp_name("blob")
    mine.write_bytes(b"live")
    dead_proc = subprocess.Popen(["true"])
    dead_proc.wait()
    pid, start = owner_stamp().split("-")
    dead = tmp_path / f"blob-{dead_proc.pid}-7-00aa00aa00aa"
    reused = tmp_path / f"load-{pid}-{int(start) + 1}-00aa00aa00aa"  # our pid, another start
    pull_dir = tmp_path / f"pull-{dead_proc.pid}-7-00bb00bb00bb"
    (pull_dir / "sub").mkdir(parents=True)
    (pull_dir / "sub" / "layer").write_bytes(b"x")
    dead.write_bytes(b"x")
    reused.write_bytes(b"x")
    build = tmp_path / "build-abc123"   # not the sweeper's kind: a build's tree may hold mounts
    build.mkdir()
    assert sorted(sweep(tmp_path)) == sorted([dead.name, reused.name, pull_dir.name])
    assert mine.exists() and build.exists()
    assert not dead.exists() and not reused.exists() and not pull_dir.exists()


def test_sweep_of_a_live_child_process_s_file(tmp_path):
    child = subprocess.Popen(["sleep", "30"])
    try:
        with open(f"/proc/{child.pid}/stat", "rb") as f:
            data = f.read()
        start = int(data[data.rindex(b")") + 2:].split()[19])
        live = tmp_path / f"blob-{child.pid}-{start}-00cc00cc00cc"
        live.write_bytes(b"x")
        assert sweep(tmp_path) == [] and live.exists()
    finally:
        child.kill()
        child.wait()
    assert sweep(tmp_path) == [live.name]


def test_legacy_names_go_once_quiet(tmp_path):
    old_blob = tmp_path / "blob-0123456789abcdef"
    old_pull = tmp_path / "pull-k2j3h4g5"
    fresh = tmp_path / "blob-fedcba9876543210"
    for p in (old_blob, fresh):
        p.write_bytes(b"x")
    old_pull.mkdir()
    (old_pull / "layer").write_bytes(b"x")
    past = time.time() - LEGACY_AGE - 60
    for p in (old_blob, old_pull / "layer", old_pull):
        os.utime(p, (past, past))
    assert sorted(sweep(tmp_path)) == sorted([old_blob.name, old_pull.name])
    assert fresh.exists()


def test_sweep_of_a_missing_dir(tmp_path):
    assert sweep(tmp_path / "nope") == []


def test_pull_staging_is_stamped_and_sweeps_a_dead_pull_first(tmp_path):
    from sampan.registry.staging import scratch_dir
    from sampan.state.paths import Paths

    class Store:
        paths = Paths(tmp_path / "root", tmp_path / "run")
    tmp = Store.paths.tmp
    tmp.mkdir(parents=True)
    dead_proc = subprocess.Popen(["true"])
    dead_proc.wait()
    stale = tmp / f"pull-{dead_proc.pid}-3-00dd00dd00dd"
    stale.mkdir()
    (stale / "sha256-abc").write_bytes(b"x" * 4096)
    d = scratch_dir(Store())
    assert not stale.exists()
    assert d.parent == tmp and d.name.startswith(f"pull-{owner_stamp()}-")
    assert sweep(tmp) == [] and d.exists()  # a live pull's dir is kept
