"""Where the C idle monitor's binary comes from (engine/cmonitor_build.py): compiled once into
the host cache and shared by every state root; the root's own copy when the cache cannot be
made; and never a cached file that fails a check (owner, mode, symlink, truncated): the root's
own copy serves instead and `doctor` says why. (Attacks on a running container's monitor:
tests/integration/engine/test_c_monitor.py.)"""

from __future__ import annotations

import hashlib
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from sampan.engine import cmonitor_build as cb

pytestmark = pytest.mark.skipif(cb.compiler() is None, reason="no C compiler")
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    d = tmp_path / "cache" / "libexec"
    monkeypatch.setenv("SAMPAN_LIBEXEC_CACHE", str(d))
    monkeypatch.delenv("SAMPAN_CC", raising=False)
    return d


def _roots(tmp_path: Path, n: int) -> list[str]:
    out = []
    for i in range(n):
        (tmp_path / f"root{i}").mkdir(mode=0o700)
        out.append(str(tmp_path / f"root{i}"))
    return out


def _own_copy(root: str) -> str:
    return os.path.join(root, "libexec", cb.digest(cb.compiler()), cb.NAME)


def test_one_compile_serves_every_root(tmp_path, cache):
    roots = _roots(tmp_path, 3)
    got = {cb.binary(r) for r in roots}
    (directory,) = cache.iterdir()
    exe = directory / cb.NAME
    assert got == {str(exe)}
    assert not any(os.path.exists(os.path.join(r, "libexec")) for r in roots)  # no copy per root
    assert sorted(p.name for p in directory.iterdir()) == ["lock", cb.NAME, cb.SUM]
    assert (directory / cb.SUM).read_text().strip() == hashlib.sha256(exe.read_bytes()).hexdigest()
    for p in [cache, directory, exe]:
        st = p.lstat()
        assert st.st_uid == os.geteuid() and st.st_mode & 0o022 == 0
    path, fd = cb.open_binary(roots[0])
    try:
        assert os.fstat(fd).st_ino == exe.stat().st_ino  # what the monitor fexecve's
    finally:
        os.close(fd)
    source, refused = cb.host_cache_state(cb.compiler())
    assert refused is None and str(exe) in source


def test_concurrent_first_uses_compile_once(tmp_path, cache):
    roots = _roots(tmp_path, 4)
    with ThreadPoolExecutor(4) as pool:
        got = set(pool.map(cb.binary, roots))
    (directory,) = cache.iterdir()
    assert got == {str(directory / cb.NAME)}
    assert sorted(p.name for p in directory.iterdir()) == ["lock", cb.NAME, cb.SUM]  # no temp left


def test_the_roots_own_copy_when_the_cache_cannot_be_made(tmp_path, monkeypatch):
    monkeypatch.setenv("SAMPAN_LIBEXEC_CACHE", "/proc/sampan-libexec")  # mkdir fails there
    (root,) = _roots(tmp_path, 1)
    assert cb.binary(root) == _own_copy(root)
    for p in [Path(root) / "libexec", Path(_own_copy(root)).parent, Path(_own_copy(root))]:
        assert p.stat().st_mode & 0o077 == 0  # private, as the whole state root
    monkeypatch.setenv("SAMPAN_LIBEXEC_CACHE", "")  # none at all
    assert cb.binary(root) == _own_copy(root)


def test_a_failed_compile_is_remembered(tmp_path, cache, monkeypatch):
    monkeypatch.setenv("SAMPAN_CC", "/bin/false")
    (root,) = _roots(tmp_path, 1)
    assert cb.binary(root) is None
    (failed,) = cache.rglob(cb.FAILED)
    assert cb.binary(root) is None  # not tried again
    assert not list(cache.rglob("*.tmp")) and not list(cache.rglob(cb.NAME))
    source, refused = cb.host_cache_state("/bin/false")
    assert "Python" in source and str(failed) in refused


def test_without_a_compiler_there_is_no_binary(tmp_path, cache, monkeypatch):
    monkeypatch.setenv("SAMPAN_CC", str(tmp_path / "no-such-cc"))
    (root,) = _roots(tmp_path, 1)
    assert cb.binary(root) is None
    assert not cache.exists() and not (Path(root) / "libexec").exists()


def _group_writable(exe: Path) -> None:
    exe.chmod(0o775)


def _other_owner(exe: Path) -> None:
    os.chown(exe, 1234, 1234)


def _dir_other_owner(exe: Path) -> None:
    os.chown(exe.parent, 1234, 1234)


def _cache_dir_world_writable(exe: Path) -> None:
    exe.parent.parent.chmod(0o777)


def _file_symlink(exe: Path) -> None:
    """A symlink to a good copy (same bytes, so its sha256 matches): still refused."""
    good = exe.parent.parent.parent / "elsewhere"
    shutil.copy2(exe, good)
    exe.unlink()
    exe.symlink_to(good)


def _dir_symlink(exe: Path) -> None:
    good = exe.parent.parent.parent / "elsewhere-dir"
    shutil.copytree(exe.parent, good)
    shutil.rmtree(exe.parent)
    exe.parent.symlink_to(good)


def _cache_symlink(exe: Path) -> None:
    cache = exe.parent.parent
    good = cache.parent / "elsewhere-cache"
    cache.rename(good)
    cache.symlink_to(good)


def _truncated(exe: Path) -> None:
    data = exe.read_bytes()
    exe.write_bytes(data[: len(data) // 2])


def _sum_changed(exe: Path) -> None:
    """A different binary put in place (its sha256 file left as it was)."""
    exe.write_bytes(exe.read_bytes() + b"\0")


ATTACKS = [_group_writable, _other_owner, _dir_other_owner, _cache_dir_world_writable, _file_symlink,
           _dir_symlink, _cache_symlink, _truncated, _sum_changed]


@needs_root
@pytest.mark.parametrize("attack", ATTACKS, ids=lambda f: f.__name__.strip("_"))
def test_a_cached_binary_that_fails_a_check_is_never_used(tmp_path, cache, attack):
    first, second = _roots(tmp_path, 2)
    exe = Path(cb.binary(first))
    assert exe.parent.parent == cache
    attack(exe)
    got = cb.open_binary(second)
    assert got is not None
    path, fd = got
    try:
        assert path == _own_copy(second)  # the root's own copy, compiled for it
        assert os.fstat(fd).st_ino == os.stat(_own_copy(second)).st_ino
    finally:
        os.close(fd)
    source, refused = cb.host_cache_state(cb.compiler())
    assert "own copy" in source and "refused" in refused, refused
    assert len(refused.splitlines()) == 1


def test_a_symlinked_root_libexec_is_refused_too(tmp_path, cache, monkeypatch):
    """The root's own copy is checked as the cache's: a symlink for its libexec/ is not followed."""
    monkeypatch.setenv("SAMPAN_LIBEXEC_CACHE", "")
    (root,) = _roots(tmp_path, 1)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    (Path(root) / "libexec").symlink_to(elsewhere)
    assert cb.binary(root) is None
    assert list(elsewhere.iterdir()) == []
