import io
import os
import stat

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from sampan.errors import UnsafeArchive
from sampan.store.tarpath import clean_member_path, is_within
from sampan.store.unpack import extract_tar
from tests.unit.store.conftest import needs_root
from tests.unit.store.tarmaker import entry, make_tar


@pytest.fixture
def sandbox(tmp_path):
    """dest inside a sandbox: anything appearing next to dest escaped."""
    dest = tmp_path / "box" / "dest"
    dest.mkdir(parents=True)
    return dest


def extract(tar: bytes, dest, is_root=None):
    return extract_tar(io.BytesIO(tar), dest, is_root=is_root)


def escaped(dest) -> list[str]:
    return [n for n in os.listdir(dest.parent) if n != "dest"]


@pytest.mark.parametrize("name, why", [
    ("../x", "escapes"), ("a/../../x", "escapes"), ("/etc/x", "absolute"), ("./../x", "escapes"),
])
def test_refuses_escaping_names(sandbox, name, why):
    with pytest.raises(UnsafeArchive) as e:
        extract(make_tar(entry("ok", data=b"1"), entry(name, data=b"evil")), sandbox)
    assert name in str(e.value) and why in str(e.value)
    assert escaped(sandbox) == []


# Targets stay inside the test's tmp dir: a regression must not write into the real / or /tmp.
@pytest.mark.parametrize("target", ["..", "../..", "@BOX", "."])
def test_refuses_writing_through_symlink(sandbox, target):
    target = target.replace("@BOX", str(sandbox.parent))
    tar = make_tar(entry("link", "symlink", link=target), entry("link/x", data=b"evil"))
    with pytest.raises(UnsafeArchive) as e:
        extract(tar, sandbox)
    assert "symlink" in str(e.value) and "link/x" in str(e.value)
    assert escaped(sandbox) == []


def test_refuses_symlinked_parent_dir_deeper(sandbox):
    tar = make_tar(entry("a", "dir", mode=0o755), entry("a/b", "symlink", link="../.."),
                   entry("a/b/c/d", data=b"evil"))
    with pytest.raises(UnsafeArchive):
        extract(tar, sandbox)
    assert escaped(sandbox) == []


@pytest.mark.parametrize("link", ["../outside", "/etc/passwd", "nothere", "a"])
def test_refuses_bad_hardlinks(sandbox, link):
    (sandbox.parent / "outside").write_text("secret")
    tar = make_tar(entry("a", "dir", mode=0o755), entry("h", "hardlink", link=link))
    with pytest.raises(UnsafeArchive):
        extract(tar, sandbox)
    assert sorted(os.listdir(sandbox.parent)) == ["dest", "outside"]
    assert os.stat(sandbox.parent / "outside").st_nlink == 1


def test_refuses_hardlink_through_symlink(sandbox):
    (sandbox.parent / "outside").write_text("secret")
    tar = make_tar(entry("s", "symlink", link=".."), entry("s/outside", data=b"x"),
                   entry("h", "hardlink", link="s/outside"))
    with pytest.raises(UnsafeArchive):
        extract(tar, sandbox)
    assert os.stat(sandbox.parent / "outside").st_nlink == 1


def test_device_nodes_need_root(sandbox):
    with pytest.raises(UnsafeArchive) as e:
        extract(make_tar(entry("dev/null", "chr", dev=(1, 3))), sandbox, is_root=False)
    assert "root" in str(e.value)


@pytest.mark.parametrize("kw", [{"uid": 2 ** 40}, {"mtime": 2 ** 70}, {"link": "x" * 5000}])
def test_absurd_headers_are_refused(sandbox, kw):
    kind = "symlink" if "link" in kw else "file"
    ti, data = entry("f", kind, b"x", **kw)
    if "uid" in kw:  # tarfile will not write it; forge it as a PAX record
        ti.uid = 0
        ti.pax_headers = {"uid": str(kw["uid"])}
    try:
        tar = make_tar((ti, data))
    except (ValueError, OverflowError):
        pytest.skip("tarfile refuses to write this header")
    with pytest.raises(UnsafeArchive) as e:
        extract(tar, sandbox, is_root=True)
    assert "'f'" in str(e.value)


def test_impossible_names_are_refused_not_crashing(sandbox):
    with pytest.raises(UnsafeArchive) as e:
        extract(make_tar(entry("d/" + "n" * 300, data=b"x")), sandbox)
    assert "File name too long" in str(e.value)


def test_not_a_tar(sandbox):
    with pytest.raises(UnsafeArchive):
        extract(b"hello, not a tar" * 100, sandbox)


def test_keeps_files_links_modes_mtimes_xattrs(sandbox):
    tar = make_tar(
        entry("bin", "dir", mode=0o755, mtime=1_000_000),
        entry("bin/tool", data=b"#!/bin/sh\n", mode=0o4755, mtime=1_234_567),
        entry("bin/alias", "hardlink", link="bin/tool"),
        entry("bin/sh", "symlink", link="tool", mtime=1_111_111),
        entry("etc/conf", data=b"k=v", mode=0o600, xattrs={"user.note": "hello"}),
        entry("ro", "dir", mode=0o555, mtime=2_000_000),
        entry("ro/inside", data=b"1"),
        entry("pipe", "fifo", mode=0o640),
    )
    assert extract(tar, sandbox) == 8
    tool = os.lstat(sandbox / "bin/tool")
    assert stat.S_IMODE(tool.st_mode) == 0o4755 and tool.st_mtime == 1_234_567
    assert (sandbox / "bin/tool").read_bytes() == b"#!/bin/sh\n"
    assert os.lstat(sandbox / "bin/alias").st_ino == tool.st_ino
    assert os.readlink(sandbox / "bin/sh") == "tool"
    assert os.lstat(sandbox / "bin/sh").st_mtime == 1_111_111
    assert os.lstat(sandbox / "bin").st_mtime == 1_000_000  # dir times set after children
    ro = os.lstat(sandbox / "ro")
    assert stat.S_IMODE(ro.st_mode) == 0o555 and ro.st_mtime == 2_000_000
    assert stat.S_IMODE(os.lstat(sandbox / "etc/conf").st_mode) == 0o600
    try:
        assert os.getxattr(sandbox / "etc/conf", "user.note") == b"hello"
    except OSError:
        pytest.skip("filesystem without user xattrs")
    assert stat.S_ISFIFO(os.lstat(sandbox / "pipe").st_mode)


def test_later_entries_replace_earlier(sandbox):
    tar = make_tar(entry("x", data=b"old"), entry("x", data=b"new"),
                   entry("d", "dir", mode=0o755), entry("d/f", data=b"1"),
                   entry("d", "symlink", link="x"))
    extract(tar, sandbox)
    assert (sandbox / "x").read_bytes() == b"new"
    assert os.readlink(sandbox / "d") == "x"


@needs_root
def test_owners_and_whiteouts_as_root(sandbox):
    tar = make_tar(
        entry("home", "dir", mode=0o755), entry("home/u", "dir", mode=0o700, uid=1000, gid=1000),
        entry("home/u/f", data=b"1", uid=1000, gid=1001, mode=0o2755),
        entry("gone/.wh.file"), entry("opq", "dir", mode=0o755), entry("opq/.wh..wh..opq"),
        entry("forged", "dir", xattrs={"trusted.overlay.redirect": "/etc"}),
    )
    extract(tar, sandbox)
    f = os.lstat(sandbox / "home/u/f")
    assert (f.st_uid, f.st_gid, stat.S_IMODE(f.st_mode)) == (1000, 1001, 0o2755)
    assert os.lstat(sandbox / "home/u").st_uid == 1000
    wh = os.lstat(sandbox / "gone/file")
    assert stat.S_ISCHR(wh.st_mode) and wh.st_rdev == 0
    assert not (sandbox / "gone/.wh.file").exists()
    assert os.getxattr(sandbox / "opq", "trusted.overlay.opaque") == b"y"
    assert not os.path.lexists(sandbox / "opq/.wh..wh..opq")
    assert "trusted.overlay.redirect" not in os.listxattr(sandbox / "forged")


@needs_root
def test_whiteout_never_hides_its_own_layer(sandbox):
    extract(make_tar(entry("keep", data=b"mine"), entry(".wh.keep"),
                     entry(".wh.back"), entry("back", data=b"again")), sandbox)
    assert (sandbox / "keep").read_bytes() == b"mine"
    assert (sandbox / "back").read_bytes() == b"again"


# --- property tests ----------------------------------------------------------------
_part = st.sampled_from(["a", "b", "..", ".", "", "c.d", ".wh.a", "..."])
_names = st.lists(_part, min_size=1, max_size=5).map("/".join) | \
    st.lists(_part, min_size=1, max_size=4).map(lambda p: "/" + "/".join(p))


@given(_names)
def test_clean_member_path_never_escapes(name):
    try:
        clean = clean_member_path(name)
    except UnsafeArchive as e:
        assert "\n" not in str(e)
        return
    assert is_within(clean)
    assert ".." not in clean.split("/") and not clean.startswith("/")
    assert "" not in clean.split("/") or clean == ""


_kinds = st.sampled_from(["file", "dir", "symlink", "hardlink"])
_targets = st.sampled_from(["..", "../..", "@BOX", "@BOX/outside", "a", "b", "a/b", "../dest",
                            ".", "c.d", "../outside"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(_names, _kinds, _targets), min_size=1, max_size=8))
def test_random_tars_never_write_outside(tmp_path_factory, entries):
    box = tmp_path_factory.mktemp("box")
    dest = box / "dest"
    dest.mkdir()
    (box / "outside").write_bytes(b"secret")
    tar = make_tar(*(entry(n, k, b"data", link=t.replace("@BOX", str(box)), mode=0o755)
                     for n, k, t in entries))
    try:
        extract(tar, dest, is_root=False)
    except UnsafeArchive:
        pass
    assert sorted(os.listdir(box)) == ["dest", "outside"]
    outside = os.lstat(box / "outside")
    assert outside.st_nlink == 1 and (box / "outside").read_bytes() == b"secret"


_BASE_TAR = make_tar(entry("d", "dir", mode=0o755), entry("d/f", data=b"hello" * 50),
                     entry("d/l", "symlink", link="f"), entry("d/h", "hardlink", link="d/f"),
                     entry("x", data=b"1", xattrs={"user.a": "b"}))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, len(_BASE_TAR) - 1), st.integers(0, 255)),
                min_size=1, max_size=6))
def test_corrupt_tars_fail_cleanly(tmp_path_factory, flips):
    """Random byte flips: extraction succeeds or raises a one-line SampanError, never
    anything else, and never writes outside dest (as root too: chown/mknod paths)."""
    from sampan.errors import SampanError
    data = bytearray(_BASE_TAR)
    for pos, val in flips:
        data[pos] = val
    box = tmp_path_factory.mktemp("box")
    dest = box / "dest"
    dest.mkdir()
    try:
        extract(bytes(data), dest)
    except SampanError as e:
        assert "\n" not in str(e)
    assert os.listdir(box) == ["dest"]
