"""Paths.ensure: private dirs at every command (one stat), an old root's files fixed once."""

import os
import stat

import pytest

from sampan.errors import InvalidArgument
from sampan.state import private
from sampan.state.paths import MODES_MARK, Paths


def _mode(p) -> int:
    return stat.S_IMODE(os.lstat(p).st_mode)


def test_fresh_root_and_runroot_are_private(tmp_path):
    paths = Paths(tmp_path / "a" / "root", tmp_path / "b" / "run")
    paths.ensure()
    for d in (paths.root, paths.runroot, paths.blobs, paths.layers, paths.containers,
              paths.volumes, paths.tmp, paths.locks):
        assert _mode(d) == 0o700, d
    assert (paths.root / MODES_MARK).exists()


def test_old_root_is_fixed_once_and_container_files_are_left(tmp_path, monkeypatch):
    paths = Paths(tmp_path / "root", tmp_path / "run")
    cdir = paths.root / "containers" / ("c" * 64)
    for d in (paths.blobs, cdir / "upper" / "etc", paths.layers / ("a" * 64) / "diff",
              paths.volumes / "v" / "_data", paths.runroot / "runtime" / "native" / "c"):
        d.mkdir(parents=True)
    files = {paths.db: 0o644, paths.root / "sampan.db-wal": 0o644, paths.blobs / ("b" * 64): 0o644,
             cdir / "config.json": 0o644, cdir / ("c" * 64 + "-json.log"): 0o644,
             cdir / ("c" * 64 + "-json.log.1"): 0o644, cdir / "hosts": 0o644,
             cdir / "upper" / "etc" / "motd": 0o644, paths.layers / ("a" * 64) / "complete": 0o644,
             paths.runroot / "runtime" / "native" / "c" / "state.json": 0o644}
    for f, m in files.items():
        f.write_text("x")
        os.chmod(f, m)
    for d in [paths.root, paths.runroot] + [p for top in (paths.root, paths.runroot)
                                            for p in top.rglob("*") if p.is_dir()]:
        os.chmod(d, 0o755)
    paths.ensure()
    for f in (paths.db, paths.root / "sampan.db-wal", paths.blobs / ("b" * 64), cdir / "config.json",
              cdir / ("c" * 64 + "-json.log"), cdir / ("c" * 64 + "-json.log.1"),
              paths.layers / ("a" * 64) / "complete", paths.runroot / "runtime" / "native" / "c" / "state.json"):
        assert _mode(f) == 0o600, f
    for d in (paths.root, paths.runroot, paths.containers, cdir, paths.blobs, paths.volumes / "v"):
        assert _mode(d) == 0o700, d
    # the container's own view keeps its modes: /etc/hosts for its users, its tree as made
    assert _mode(cdir / "hosts") == 0o644
    assert _mode(cdir / "upper") == 0o755 and _mode(cdir / "upper" / "etc" / "motd") == 0o644
    assert _mode(paths.layers / ("a" * 64) / "diff") == 0o755
    assert _mode(paths.volumes / "v" / "_data") == 0o755

    # once: later commands only stat the marker (and the two top dirs)
    def no_walk(_paths):
        raise AssertionError("walked the root again")
    monkeypatch.setattr(private, "tighten_root", no_walk)
    paths.ensure()
    os.chmod(paths.root, 0o755)  # someone widened it: put right at the next command
    paths.ensure()
    assert _mode(paths.root) == 0o700


def test_shared_sticky_dir_is_refused_not_chmodded(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    with pytest.raises(InvalidArgument, match="shared directory"):
        Paths(tmp_path / "root", shared).ensure()
    assert _mode(shared) == 0o1777


def test_database_and_its_wal_are_private(tmp_path):
    from sampan.state.db import Database
    db = Database(tmp_path / "sampan.db")
    try:
        with db.tx() as conn:
            conn.execute("CREATE TABLE t (x)")
            conn.execute("INSERT INTO t VALUES (1)")
        for name in ("sampan.db", "sampan.db-wal", "sampan.db-shm"):
            assert _mode(tmp_path / name) == 0o600, name
    finally:
        db.close()


def test_atomic_writes_are_private_unless_told(tmp_path):
    from sampan.state.atomic import atomic_write_bytes
    old = os.umask(0o077)
    try:
        atomic_write_bytes(tmp_path / "a", b"x")
        atomic_write_bytes(tmp_path / "b", b"x", 0o644)
    finally:
        os.umask(old)
    assert _mode(tmp_path / "a") == 0o600
    assert _mode(tmp_path / "b") == 0o644  # exact, whatever the umask
