"""walk_at and tar_at: a tree walked through fds describes each entry from the inode
it opened, never follows a symlink, survives entries that vanish or change, and
writes exactly the sizes it announced."""

from __future__ import annotations

import ctypes
import io
import os
import tarfile
import threading

import pytest

from sampan.state.inroot import open_root
from sampan.store import tar_at
from sampan.store.walk_at import Node, open_entry, walk, walk_fd


@pytest.fixture
def tree(tmp_path):
    host = tmp_path / "host"
    host.mkdir()
    (host / "secret").write_text("HOSTBYTES" * 10)
    root = tmp_path / "root"
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / "b" / "f").write_text("inside")
    (root / "a" / "g").write_text("g")
    os.link(root / "a" / "g", root / "a" / "g2")
    (root / "dlink").symlink_to(host)
    (root / "flink").symlink_to(host / "secret")
    os.mkfifo(root / "fifo")
    fd = open_root(root)
    yield root, host, fd
    os.close(fd)


def names(fd: int) -> list[str]:
    return [n.rel for n in walk_fd(fd)]


def test_walk_is_sorted_parents_first_and_never_follows_links(tree):
    _, _, fd = tree
    assert names(fd) == ["a", "a/b", "a/b/f", "a/g", "a/g2", "dlink", "fifo", "flink"]
    kinds = {n.rel: (n.is_dir(), n.is_link()) for n in walk_fd(fd)}
    assert kinds["dlink"] == (False, True) and kinds["flink"] == (False, True)


def test_tar_of_the_tree_keeps_links_as_links_and_hardlinks_once(tree):
    _, _, fd = tree
    buf = io.BytesIO()
    with Node(os.dup(fd), "") as top:
        tar_at.write(buf, tar_at.Members().tree(top, None))
    assert b"HOSTBYTES" not in buf.getvalue()
    members = {m.name: m for m in tarfile.open(fileobj=io.BytesIO(buf.getvalue()))}
    assert members["dlink"].issym() and members["flink"].issym()
    assert members["a/g2"].islnk() and members["a/g2"].linkname == "a/g"
    assert members["fifo"].isfifo()  # read as a node: opening it would block
    assert members["a/b/f"].uname == "" and members["a/b/f"].gname == ""


def test_top_named_and_contents(tree):
    _, _, fd = tree
    with Node(os.open("a", os.O_PATH | os.O_NOFOLLOW, dir_fd=fd), "") as top:
        got = [ti.name for ti, r in tar_at.Members(xattrs=None).tree(top, "x")]
    assert got == ["x", "x/b", "x/b/f", "x/g", "x/g2"]


def test_entries_that_vanish_or_change_are_skipped_not_errors(tree):
    root, _, fd = tree
    seen = {}
    for node in walk_fd(fd):
        seen[node.rel] = node.is_dir()
        if node.rel == "a/b":  # a's listing is taken: [b, g, g2]
            (root / "a" / "g").unlink()     # listed, gone before it is opened
            (root / "a" / "g2").unlink()    # listed as a file, now a directory
            (root / "a" / "g2").mkdir()
            (root / "a" / "b" / "f").unlink()  # b is entered after this: not listed
    assert "a/g" not in seen and "a/b/f" not in seen
    assert seen["a/g2"] is True


def test_exact_reader_pads_and_cuts(tmp_path):
    p = tmp_path / "f"
    p.write_bytes(b"12345")
    r = tar_at.ExactReader(os.open(p, os.O_RDONLY), 8)
    assert r.read(3) == b"123" and r.read(100) == b"45\0\0\0" and r.read(1) == b""
    r.close()
    r = tar_at.ExactReader(os.open(p, os.O_RDONLY), 2)
    assert r.read() == b"12" and r.read() == b""
    r.close()


def test_a_file_that_shrinks_while_tarred_gives_a_valid_tar(tmp_path):
    (tmp_path / "t").mkdir()
    big = tmp_path / "t" / "big"
    big.write_bytes(b"x" * 100_000)
    fd = open_root(tmp_path / "t")
    try:
        buf = io.BytesIO()
        with Node(os.dup(fd), "") as top:
            stream = tar_at.Members().tree(top, None)
            with tarfile.open(fileobj=buf, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                for ti, reader in stream:
                    os.truncate(big, 10)  # after the header was made
                    tar.addfile(ti, reader)
                    reader.close()
        m = tarfile.open(fileobj=io.BytesIO(buf.getvalue()))
        data = m.extractfile("big").read()
        assert len(data) == 100_000 and data[:10] == b"x" * 10 and data[10:] == b"\0" * (100_000 - 10)
    finally:
        os.close(fd)


def test_open_entry_of_a_missing_name_is_none(tree):
    _, _, fd = tree
    assert open_entry(fd, "nope", "nope") is None


def _exchange(dirfd: int, a: str, b: str) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.renameat2(dirfd, a.encode(), dirfd, b.encode(), 2)  # RENAME_EXCHANGE


def test_a_directory_swapped_with_a_symlink_mid_walk_never_leads_out(tree):
    """The race of the issue, in-process: d flips with a symlink to the host's directory
    and f with a symlink to the host's file while the tree is tarred again and again."""
    root, host, fd = tree
    (root / "d").mkdir()
    (root / "d" / "secret").write_text("inside")
    (root / "s").symlink_to(host)
    (root / "f").write_text("inside")
    (root / "l").symlink_to(host / "secret")
    stop = threading.Event()

    def flip():
        while not stop.is_set():
            _exchange(fd, "d", "s")
            _exchange(fd, "f", "l")

    t = threading.Thread(target=flip)
    t.start()
    try:
        for _ in range(300):
            buf = io.BytesIO()
            with Node(os.dup(fd), "") as top:
                tar_at.write(buf, tar_at.Members().tree(top, None))
            assert b"HOSTBYTES" not in buf.getvalue()
    finally:
        stop.set()
        t.join()
