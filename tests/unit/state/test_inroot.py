"""inroot: a hostile tree's symlinks and `..` never lead out of it, with openat2 and
with the component walk that stands in for it on older kernels."""

from __future__ import annotations

import ctypes
import errno
import os
import threading

import pytest

from sampan.state import inroot


@pytest.fixture(params=["openat2", "walk"])
def mode(request):
    inroot.use_fallback(request.param == "walk")
    if request.param == "openat2" and not inroot._kernel_openat2():
        pytest.skip("this kernel has no openat2")
    yield request.param
    inroot.use_fallback(False)


@pytest.fixture
def tree(tmp_path):
    """root/ with traps pointing at host/secret, a file outside the root."""
    host = tmp_path / "host"
    host.mkdir()
    (host / "secret").write_text("host bytes")
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "passwd").write_text("root:x:0:0::/root:/bin/sh\n")
    (root / "abs").symlink_to(host / "secret")          # absolute, to the host
    (root / "up").symlink_to("../../../../host/secret")  # relative, climbing out
    (root / "hostdir").symlink_to(host)                  # a directory out of the root
    (root / "etclink").symlink_to("/etc")                # absolute, meant inside
    fd = inroot.open_root(root)
    yield root, host, fd
    os.close(fd)


def read(fd: int) -> bytes:
    try:
        return os.read(fd, 100)
    finally:
        os.close(fd)


def test_in_root_absolute_link_is_rerooted(mode, tree):
    root, host, rfd = tree
    assert read(inroot.open_in_root(rfd, "etclink/passwd", os.O_RDONLY)).startswith(b"root:")
    with pytest.raises(FileNotFoundError):  # /host/secret does not exist *inside* the root
        inroot.open_in_root(rfd, "abs", os.O_RDONLY)
    (root / str(host).lstrip("/")).mkdir(parents=True)
    (root / str(host).lstrip("/") / "secret").write_text("inside")
    assert read(inroot.open_in_root(rfd, "/abs", os.O_RDONLY)) == b"inside"


def test_in_root_dotdot_and_relative_links_stop_at_the_root(mode, tree):
    root, host, rfd = tree
    (root / "host").mkdir()
    (root / "host" / "secret").write_text("inside")
    assert read(inroot.open_in_root(rfd, "up", os.O_RDONLY)) == b"inside"
    assert read(inroot.open_in_root(rfd, "../../../etc/../host/secret", os.O_RDONLY)) == b"inside"


def test_in_root_create_through_dangling_link_lands_inside(mode, tree):
    root, host, rfd = tree
    (root / "newlink").symlink_to(host / "created")
    (root / str(host).lstrip("/")).mkdir(parents=True)
    os.close(inroot.open_in_root(rfd, "newlink", os.O_WRONLY | os.O_CREAT, 0o600))
    assert not (host / "created").exists()
    assert (root / str(host).lstrip("/") / "created").exists()


def test_in_root_nofollow_opens_the_link_itself(mode, tree):
    _, host, rfd = tree
    fd = inroot.open_in_root(rfd, "abs", os.O_PATH, follow=False)
    try:
        assert os.readlink("", dir_fd=fd) == str(host / "secret")
    finally:
        os.close(fd)
    with pytest.raises(OSError) as e:
        inroot.open_in_root(rfd, "abs", os.O_RDONLY, follow=False)
    assert e.value.errno == errno.ELOOP


def test_beneath_refuses_every_symlink_and_climbing(mode, tree):
    _, _, rfd = tree
    for path in ("hostdir/secret", "etclink/passwd"):
        with pytest.raises(OSError) as e:
            inroot.open_beneath(rfd, path, os.O_RDONLY)
        assert e.value.errno == errno.ELOOP
    with pytest.raises(OSError) as e:
        inroot.open_beneath(rfd, "etc/../../host/secret", os.O_RDONLY)
    assert e.value.errno in (errno.EXDEV, errno.ENOENT)  # never the host's file
    assert read(inroot.open_beneath(rfd, "etc/passwd", os.O_RDONLY)).startswith(b"root:")
    fd = inroot.open_beneath(rfd, "abs", os.O_PATH)  # a final link: the link itself
    os.close(fd)
    with pytest.raises(OSError):
        inroot.open_beneath(rfd, "hostdir/new", os.O_WRONLY | os.O_CREAT)


def _renameat2_exchange(dirfd: int, a: str, b: str) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.renameat2(dirfd, a.encode(), dirfd, b.encode(), 2) != 0:  # RENAME_EXCHANGE
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def test_a_directory_swapped_with_a_symlink_never_leads_out(mode, tree):
    """CVE-2018-15664's race: while we open d/secret, d flips between a real directory
    and a symlink to the host's directory. We must read the inside file or fail."""
    root, host, rfd = tree
    (root / "d").mkdir()
    (root / "d" / "secret").write_text("inside")
    (root / "swap").symlink_to(host)
    stop = threading.Event()

    def flip():
        while not stop.is_set():
            _renameat2_exchange(rfd, "d", "swap")

    t = threading.Thread(target=flip)
    t.start()
    seen = set()
    try:
        for _ in range(3000):
            for opener in (lambda: inroot.open_in_root(rfd, "d/secret", os.O_RDONLY),
                           lambda: inroot.open_beneath(rfd, "d/secret", os.O_RDONLY)):
                try:
                    seen.add(read(opener()))
                except OSError:
                    seen.add(b"refused")
    finally:
        stop.set()
        t.join()
    assert b"host bytes" not in seen
    assert b"inside" in seen


def test_in_root_opens_a_directory_with_o_directory(mode, tree):
    """O_DIRECTORY shares a bit with O_TMPFILE: no mode may be sent with it (EINVAL)."""
    root, host, rfd = tree
    fd = inroot.open_in_root(rfd, "etclink", os.O_PATH | os.O_DIRECTORY)
    try:
        assert os.path.samestat(os.fstat(fd), os.stat(root / "etc"))
    finally:
        os.close(fd)
