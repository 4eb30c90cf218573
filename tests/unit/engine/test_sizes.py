"""engine/sizes.py: a writable layer's size, as Docker counts it, never reaching outside."""

import os

from sampan.engine.sizes import rw_size


def test_apparent_bytes_each_inode_once(tmp_path):
    upper = tmp_path / "upper"
    (upper / "d").mkdir(parents=True)
    (upper / "d" / "f").write_bytes(b"x" * 12345)
    os.link(upper / "d" / "f", upper / "hard")        # the same inode: counted once
    (upper / "two").write_bytes(b"ab")
    assert rw_size(upper) == 12345 + 2


def test_symlinks_count_as_links_never_as_their_targets(tmp_path):
    outside = tmp_path / "host"
    outside.mkdir()
    (outside / "big").write_bytes(b"y" * 1_000_000)
    upper = tmp_path / "upper"
    upper.mkdir()
    os.symlink(str(outside), upper / "dir-link")       # a directory elsewhere on the host
    os.symlink(str(outside / "big"), upper / "file-link")
    os.symlink("/", upper / "root")
    assert rw_size(upper) == len(str(outside)) + len(str(outside / "big")) + 1


def test_a_missing_or_symlinked_top_is_empty(tmp_path):
    assert rw_size(tmp_path / "nope") == 0
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "f").write_bytes(b"z" * 100)
    os.symlink(tmp_path / "real", tmp_path / "upper")  # the top itself is never followed
    assert rw_size(tmp_path / "upper") == 0
