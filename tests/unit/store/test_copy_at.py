"""copy_at: a tree copied from fd to fd; links in the source are copied as links, links
planted in the destination are replaced, never written through."""

from __future__ import annotations

import os
import shutil
import stat

import pytest

from sampan.state import inroot
from sampan.store.copy_at import copy_tree_at
from sampan.store.extract_at import ExtractOptions

IS_ROOT = os.geteuid() == 0


@pytest.fixture
def trees(tmp_path):
    host = tmp_path / "host"
    (host / "dir").mkdir(parents=True)
    (host / "secret").write_text("host secret")
    os.chmod(host / "secret", 0o600)
    src = tmp_path / "src"
    (src / "d" / "deeper").mkdir(parents=True)
    (src / "d" / "deeper" / "f").write_text("deep")
    (src / "f").write_text("top")
    os.chmod(src / "f", 0o4750)
    os.utime(src / "f", ns=(1, 1_500_000_000_123_456_789))
    (src / "to-secret").symlink_to(host / "secret")
    (src / "to-dir").symlink_to(host / "dir")
    os.mkfifo(src / "p")
    dest = tmp_path / "dest"
    dest.mkdir()
    return host, src, dest


def copy(src, dest, **opts) -> int:
    s, d = os.open(src, os.O_RDONLY | os.O_DIRECTORY), os.open(dest, os.O_RDONLY | os.O_DIRECTORY)
    try:
        return copy_tree_at(s, d, "/", ExtractOptions(**opts) if opts else None)
    finally:
        os.close(s)
        os.close(d)


def listing(p):
    return sorted(str(x.relative_to(p)) for x in p.rglob("*"))


@pytest.mark.parametrize("fallback", [False, True])
def test_copies_links_as_links_and_keeps_metadata(trees, fallback):
    host, src, dest = trees
    inroot.use_fallback(fallback)
    try:
        assert copy(src, dest) == 7
    finally:
        inroot.use_fallback(False)
    assert listing(dest) == listing(src)
    assert os.readlink(dest / "to-secret") == str(host / "secret")
    assert (dest / "d" / "deeper" / "f").read_text() == "deep"
    st = os.lstat(dest / "f")
    assert stat.S_IMODE(st.st_mode) == 0o4750 and st.st_mtime_ns == 1_500_000_000_123_456_789
    assert stat.S_ISFIFO(os.lstat(dest / "p").st_mode)
    assert (host / "secret").read_text() == "host secret" and os.listdir(host / "dir") == []


def test_links_planted_in_the_destination_are_replaced(trees):
    """What another container sharing a volume could plant while it is filled."""
    host, src, dest = trees
    (dest / "f").symlink_to(host / "secret")
    (dest / "d").symlink_to(host / "dir")
    copy(src, dest)
    assert (host / "secret").read_text() == "host secret"
    assert stat.S_IMODE(os.lstat(host / "secret").st_mode) == 0o600
    assert os.listdir(host / "dir") == []
    assert (dest / "f").read_text() == "top" and (dest / "d").is_dir()


def test_shutil_copytree_would_have_written_through(trees):
    """The check above means something: the old copy-up wrote the host file."""
    host, src, dest = trees
    (dest / "f").symlink_to(host / "secret")
    os.unlink(src / "p")  # copytree refuses fifos
    shutil.copytree(src, dest, symlinks=True, dirs_exist_ok=True)
    assert (host / "secret").read_text() == "top"


@pytest.mark.skipif(not IS_ROOT, reason="owners can only be set as root")
def test_owners_kept(trees):
    host, src, dest = trees
    os.chown(src / "f", 1234, 5678)
    os.lchown(src / "to-dir", 42, 43)
    copy(src, dest, keep_owner=True)
    assert (os.lstat(dest / "f").st_uid, os.lstat(dest / "f").st_gid) == (1234, 5678)
    assert os.lstat(dest / "to-dir").st_uid == 42
