"""Volume copy-up (issue 9): the image decides what is at a volume's mount point, and a
volume's directory is on the host. Links in the image are copied as links, a mount
point that is a link resolves inside the container's root, and links another
container plants in the volume while it is filled are replaced, never written through."""

from __future__ import annotations

import io
import os
import stat
import tarfile

import pytest

from tests.integration.build.test_build_escape import Host


def _image_tar(busybox_tar, host: Host) -> bytes:
    with tarfile.open(busybox_tar) as src:
        members = [(m, src.extractfile(m).read() if m.isreg() else None) for m in src.getmembers()]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as out:
        for m, data in members:
            out.addfile(m, io.BytesIO(data) if data is not None else None)

        def add(name, kind, arg=None, mode=0o755, uid=0):
            ti = tarfile.TarInfo(name)
            ti.mode, ti.uid, ti.gid = mode, uid, uid
            ti.type = {"dir": tarfile.DIRTYPE, "sym": tarfile.SYMTYPE, "file": tarfile.REGTYPE,
                       "fifo": tarfile.FIFOTYPE}[kind]
            if kind == "sym":
                ti.linkname = arg
            if kind == "file":
                ti.size = len(arg)
            out.addfile(ti, io.BytesIO(arg) if kind == "file" else None)

        add("data", "dir", mode=0o750, uid=1000)
        add("data/f", "file", b"image file\n", mode=0o640, uid=1000)
        add("data/sub", "dir")
        add("data/sub/x", "file", b"x\n")
        add("data/to-secret", "sym", str(host.secret))
        add("data/to-dir", "sym", str(host.dir))
        add("data/p", "fifo", mode=0o600)
        add("ldata", "sym", str(host.dir))
        add("many", "dir")  # enough entries that a copy-up takes a while
        for i in range(300):
            add(f"many/f{i:03}", "file", b"image\n", mode=0o644)
        add("many/sub", "dir")
        add("many/sub/x", "file", b"x\n")
    return buf.getvalue()


@pytest.fixture
def img(sampan, busybox_tar, tmp_path):
    host = Host(tmp_path / "host")
    (tmp_path / "img.tar").write_bytes(_image_tar(busybox_tar, host))
    sampan.ok("import", "--change", 'CMD ["sh"]', str(tmp_path / "img.tar"), "linky:1")
    sampan.host = host
    yield sampan
    host.assert_untouched()


def _data(s, vol):
    return s.root / "volumes" / vol / "_data"


def test_copy_up_keeps_links_owners_and_modes(img):
    out = img.ok("run", "--rm", "--network=none", "-v", "vol:/data", "linky:1", "sh", "-c",
                 "cat /data/f /data/sub/x; readlink /data/to-secret; cat /data/to-secret 2>&1 | "
                 "grep -c 'host secret'; true")
    assert out == f"image file\nx\n{img.host.secret}\n0\n"
    data = _data(img, "vol")
    assert os.readlink(data / "to-secret") == str(img.host.secret)
    assert os.readlink(data / "to-dir") == str(img.host.dir)
    st = os.lstat(data / "f")
    assert (stat.S_IMODE(st.st_mode), st.st_uid) == (0o640, 1000)
    top = os.lstat(data)
    assert (stat.S_IMODE(top.st_mode), top.st_uid) == (0o750, 1000)  # the mount point's own
    assert stat.S_ISFIFO(os.lstat(data / "p").st_mode)
    img.host.assert_untouched()


def test_mount_point_that_is_a_link_resolves_inside_the_root(img):
    img.ok("run", "--rm", "--network=none", "-v", "lvol:/ldata", "linky:1", "true")
    assert os.listdir(_data(img, "lvol")) == []  # the link's target is not in the image
    img.host.assert_untouched()


def test_links_planted_while_the_volume_is_filled_are_not_followed(img):
    """Another container that shares the volume (mounted nocopy, so the volume stays
    empty) waits for the copy-up to begin, then plants links to host paths under the
    names the image has not copied yet."""
    h = img.host
    plant = ("until [ -e /v/f000 ] || [ -e /v/f299 ]; do :; done; "
             f"ln -s {h.dir} /v/sub; for n in $(seq 100 299); do ln -s {h.secret} /v/f$n; done; "
             "sleep 60")
    for i in range(3):
        vol = f"race{i}"
        img.ok("run", "-d", "--name", f"planter{i}", "--network=none", "-v", f"{vol}:/v:nocopy",
               "linky:1", "sh", "-c", plant)
        r = img("run", "--rm", "--network=none", "-v", f"{vol}:/many", "linky:1", "true")
        img.ok("rm", "-f", f"planter{i}")
        assert r.rc == 0 or (r.rc == 125 and "cannot fill volume" in r.err), r.err
        assert "Traceback" not in r.err
        h.assert_untouched()
