"""extract_at: a hostile tar's symlinks, `..` and hardlinks never lead a write out of
the root, with openat2 and with the O_NOFOLLOW walk that stands in for it."""

from __future__ import annotations

import io
import os
import stat
import struct
import tarfile

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from sampan.errors import UnsafeArchive
from sampan.state import inroot
from sampan.store.extract_at import ExtractOptions, ExtractRefused, capability_ok, extract_at
from tests.unit.store.conftest import needs_root
from tests.unit.store.tarmaker import entry, make_tar

IS_ROOT = os.geteuid() == 0


@pytest.fixture(params=["openat2", "walk"])
def mode(request):
    inroot.use_fallback(request.param == "walk")
    if request.param == "openat2" and not inroot._kernel_openat2():
        pytest.skip("this kernel has no openat2")
    yield request.param
    inroot.use_fallback(False)


class Box:
    """root/ to extract into, and host/ beside it: a secret file and a directory that
    no write may touch (content, mode, owner, listing)."""

    def __init__(self, tmp_path):
        self.root = tmp_path / "root"
        self.root.mkdir()
        self.host = tmp_path / "host"
        (self.host / "dir").mkdir(parents=True)
        self.secret = self.host / "secret"
        self.secret.write_bytes(b"host bytes")
        os.chmod(self.secret, 0o600)
        os.chmod(self.host / "dir", 0o700)
        self.before = self.snapshot()

    def snapshot(self):
        out = {}
        for dirpath, dirnames, filenames in os.walk(self.host):
            for n in dirnames + filenames + ["."]:
                p = os.path.join(dirpath, n)
                st_ = os.lstat(p)
                data = open(p, "rb").read() if stat.S_ISREG(st_.st_mode) else None
                out[os.path.normpath(p)] = (st_.st_mode, st_.st_uid, st_.st_gid, data)
        return out

    def untouched(self) -> bool:
        return self.snapshot() == self.before

    def extract(self, tar: bytes, dest: str = "/", stream: bool = True, **opts) -> int:
        fd = inroot.open_root(self.root)
        try:
            with tarfile.open(fileobj=io.BytesIO(tar), mode="r|" if stream else "r") as tf:
                return extract_at(tf, fd, dest, ExtractOptions(**opts) if opts else None)
        finally:
            os.close(fd)

    def inside(self, hostpath) -> "os.PathLike":
        """Where an absolute host path lands when resolved inside the root."""
        return self.root / str(hostpath).lstrip("/")


@pytest.fixture
def box(tmp_path, mode):
    return Box(tmp_path)


def test_symlink_then_file_replaces_the_link(box):
    box.extract(make_tar(entry("x", "symlink", link=str(box.secret)),
                         entry("x", data=b"mine", mode=0o4755, uid=1000)))
    assert box.untouched()
    assert not (box.root / "x").is_symlink() and (box.root / "x").read_bytes() == b"mine"


def test_symlink_then_dir_replaces_the_link(box):
    box.extract(make_tar(entry("d", "symlink", link=str(box.host / "dir")),
                         entry("d", "dir", mode=0o777, uid=1000, gid=1000),
                         entry("d/f", data=b"in")))
    assert box.untouched()
    d = box.root / "d"
    assert d.is_dir() and not d.is_symlink() and (d / "f").read_bytes() == b"in"
    assert stat.S_IMODE(os.lstat(d).st_mode) == 0o777
    if IS_ROOT:
        assert os.lstat(d).st_uid == 1000


@pytest.mark.parametrize("link", ["host-abs", "../../../../../../../..", "/"])
def test_symlink_parent_is_followed_inside_the_root(box, link):
    target = str(box.host / "dir") if link == "host-abs" else link
    box.inside(box.host / "dir").mkdir(parents=True)  # a link to nothing is not followed (below)
    box.extract(make_tar(entry("l", "symlink", link=target), entry("l/new", data=b"x")))
    assert box.untouched()
    landed = box.inside(box.host / "dir") / "new" if link == "host-abs" else box.root / "new"
    assert landed.read_bytes() == b"x"
    assert (box.root / "l").is_symlink()  # the link itself stays, as Docker keeps it


def test_dangling_link_parent_is_refused_not_created_outside(box):
    with pytest.raises(ExtractRefused) as e:
        box.extract(make_tar(entry("l", "symlink", link=str(box.host / "nope")),
                             entry("l/new", data=b"x")))
    assert e.value.member == "l/new" and "'l/new'" in str(e.value) and "symlink" in str(e.value)
    assert box.untouched() and not (box.host / "nope").exists()


def test_existing_links_in_the_root_are_not_written_through(box):
    """Links a base layer or a container left (not the archive) get the same treatment."""
    (box.root / "x").symlink_to(box.secret)
    (box.root / "d").symlink_to(box.host / "dir")
    box.inside(box.host / "dir").mkdir(parents=True)
    box.extract(make_tar(entry("x", data=b"mine"), entry("d/f", data=b"in")))
    assert box.untouched()
    assert (box.root / "x").read_bytes() == b"mine"
    assert (box.inside(box.host / "dir") / "f").read_bytes() == b"in"


def test_destination_is_resolved_inside_the_root(box):
    (box.root / "real").mkdir()
    (box.root / "dl").symlink_to("/real")
    (box.root / "hl").symlink_to(box.host / "dir")
    box.inside(box.host / "dir").mkdir(parents=True)
    box.extract(make_tar(entry("f", data=b"1")), dest="/dl")
    box.extract(make_tar(entry("f", data=b"2")), dest="/hl/sub")
    assert (box.root / "real" / "f").read_bytes() == b"1"
    assert (box.inside(box.host / "dir") / "sub" / "f").read_bytes() == b"2"
    assert box.untouched()


@pytest.mark.parametrize("name", ["../x", "a/../../x", "./../x", "a/b/../../../x",
                                  "../../../../../../../../tmp/x"])
def test_names_climbing_out_are_refused(box, name):
    with pytest.raises(ExtractRefused) as e:
        box.extract(make_tar(entry("a/b/ok", data=b"1"), entry(name, data=b"evil")), dest="/a")
    assert e.value.member == name
    assert box.untouched() and sorted(os.listdir(box.root)) == ["a"]


def test_absolute_and_dotted_names_count_from_the_destination(box):
    (box.root / "dst").mkdir()
    box.extract(make_tar(entry("/abs/f", data=b"1"), entry("a/../b", data=b"2")), dest="/dst")
    assert (box.root / "dst" / "abs" / "f").read_bytes() == b"1"
    assert (box.root / "dst" / "b").read_bytes() == b"2"


@pytest.mark.parametrize("link", ["../outside", "a/../../outside", "../../../../../etc/passwd"])
def test_hardlink_climbing_out_is_refused(box, link):
    with pytest.raises(ExtractRefused) as e:
        box.extract(make_tar(entry("a/f", data=b"1"), entry("h", "hardlink", link=link)), dest="/a")
    assert e.value.member == "h"
    assert box.untouched()


def test_hardlink_through_a_symlink_never_reaches_the_host(box):
    # l -> host dir; a hardlink to l/secret is resolved inside the root: no such file
    os.link(box.secret, box.host / "dir" / "secret")
    box.before = box.snapshot()
    with pytest.raises(ExtractRefused) as e:
        box.extract(make_tar(entry("l", "symlink", link=str(box.host / "dir")),
                             entry("h", "hardlink", link="l/secret")))
    assert e.value.member == "h" and "does not exist" in str(e.value)
    assert box.untouched() and os.lstat(box.secret).st_nlink == 2


def test_hardlink_to_a_symlink_links_the_link_itself(box):
    box.extract(make_tar(entry("s", "symlink", link=str(box.secret)), entry("h", "hardlink", link="s")))
    assert os.readlink(box.root / "h") == str(box.secret)
    assert box.untouched()


def test_hardlink_inside_works_and_to_a_dir_is_refused(box):
    box.extract(make_tar(entry("d/f", data=b"1"), entry("h", "hardlink", link="d/f")))
    assert os.path.samefile(box.root / "h", box.root / "d" / "f")
    with pytest.raises(ExtractRefused, match="directory"):
        box.extract(make_tar(entry("h2", "hardlink", link="d")))


def test_a_directory_in_the_way_is_removed_without_following_links(box):
    (box.root / "d").mkdir()
    (box.root / "d" / "in").symlink_to(box.host / "dir")
    box.extract(make_tar(entry("d", data=b"now a file")))
    assert (box.root / "d").read_bytes() == b"now a file"
    assert box.untouched()


def test_no_overwrite_dir_nondir(box):
    (box.root / "d").mkdir()
    with pytest.raises(ExtractRefused, match="would replace a directory"):
        box.extract(make_tar(entry("d", data=b"x")), no_overwrite_dir_nondir=True)
    (box.root / "f").write_bytes(b"")
    with pytest.raises(ExtractRefused, match="would replace a non-directory"):
        box.extract(make_tar(entry("f", "dir")), no_overwrite_dir_nondir=True)


def test_metadata_kept(box):
    box.extract(make_tar(entry("d", "dir", mode=0o555, mtime=1_500_000_000),
                         entry("d/f", data=b"x", mode=0o4750, uid=12, gid=34, mtime=1_400_000_000),
                         entry("d/s", "symlink", link="f", uid=5, gid=6, mtime=1_300_000_000)))
    d, f, s = (os.lstat(box.root / p) for p in ("d", "d/f", "d/s"))
    assert stat.S_IMODE(d.st_mode) == 0o555 and d.st_mtime == 1_500_000_000
    assert stat.S_IMODE(f.st_mode) == 0o4750 and f.st_mtime == 1_400_000_000
    assert s.st_mtime == 1_300_000_000
    if IS_ROOT:
        assert (f.st_uid, f.st_gid, s.st_uid, s.st_gid) == (12, 34, 5, 6)


@needs_root
def test_given_owner_wins(box):
    box.extract(make_tar(entry("d/f", data=b"x", uid=12, gid=34), entry("s", "symlink", link="d")),
                owner=(7, 8))
    for p in ("d", "d/f", "s"):
        st_ = os.lstat(box.root / p)
        assert (st_.st_uid, st_.st_gid) == (7, 8), p


def test_owner_not_kept_when_asked(box):
    box.extract(make_tar(entry("f", data=b"x", uid=12, gid=34)), keep_owner=False)
    assert os.lstat(box.root / "f").st_uid == os.geteuid()


def _cap(rev: int, size: int) -> str:
    data = struct.pack("<I", rev << 24 | 1) + b"\0" * (size - 4)
    return data.decode("utf-8", "surrogateescape")


def test_capability_must_be_well_formed():
    assert capability_ok(_cap(2, 20).encode("utf-8", "surrogateescape"))
    assert capability_ok(_cap(3, 24).encode("utf-8", "surrogateescape"))
    assert not capability_ok(b"\x01\x02")
    assert not capability_ok(_cap(2, 24).encode("utf-8", "surrogateescape"))
    assert not capability_ok(_cap(9, 20).encode("utf-8", "surrogateescape"))


@needs_root
def test_xattrs_kept_bad_capability_and_overlay_dropped(box):
    box.extract(make_tar(
        entry("good", data=b"x", xattrs={"security.capability": _cap(2, 20), "user.k": "v"}),
        entry("bad", data=b"x", xattrs={"security.capability": "garbage",
                                        "trusted.overlay.opaque": "y"})))
    assert os.getxattr(box.root / "good", "user.k") == b"v"
    assert len(os.getxattr(box.root / "good", "security.capability")) == 20
    assert os.listxattr(box.root / "bad") == []


def test_devices_skipped_when_not_allowed_fifo_made(box):
    box.extract(make_tar(entry("null", "chr", dev=(1, 3)), entry("p", "fifo", mode=0o640)),
                devices=False)
    assert not os.path.lexists(box.root / "null")
    st_ = os.lstat(box.root / "p")
    assert stat.S_ISFIFO(st_.st_mode) and stat.S_IMODE(st_.st_mode) == 0o640


@needs_root
def test_devices_made_as_root(box):
    box.extract(make_tar(entry("null", "chr", dev=(1, 3), mode=0o666)))
    st_ = os.lstat(box.root / "null")
    assert stat.S_ISCHR(st_.st_mode) and os.major(st_.st_rdev) == 1
    assert stat.S_IMODE(st_.st_mode) == 0o666


def test_whiteout_names_refused_unless_allowed(box):
    with pytest.raises(ExtractRefused, match="whiteout"):
        box.extract(make_tar(entry("a/.wh.b", data=b"")))
    box.extract(make_tar(entry("a/.wh.b", data=b"")), allow_whiteout_names=True)
    assert (box.root / "a" / ".wh.b").is_file()


def test_root_entry_and_garbage(box):
    box.extract(make_tar(entry("./", "dir", mode=0o777), entry("./f", data=b"1")))
    assert stat.S_IMODE(os.lstat(box.root).st_mode) != 0o777  # the destination keeps its mode
    with pytest.raises(UnsafeArchive, match="invalid tar"):
        box.extract(make_tar(entry("a", data=b"1" * 3000))[:1500])


def test_refused_member_is_a_sampan_error_with_one_line(box):
    with pytest.raises(ExtractRefused) as e:
        box.extract(make_tar(entry("../x", data=b"1")))
    assert "\n" not in str(e.value) and e.value.exit_code == 125


def test_seekable_tar_works_too(box):
    assert box.extract(make_tar(entry("a", data=b"1"), entry("b", "dir")), stream=False) == 2


# --- property: whatever the member sequence, the host stays as it was ---------------

_NAMES = ["a", "b", "a/b", "b/a", "a/b/c", "b/c"]


def _member(box_host: str):
    links = [box_host + "/dir", box_host + "/secret", box_host, "/", "..", "../../..", "a", "b/c",
             "../" * 8 + box_host.lstrip("/") + "/dir"]
    return st.one_of(
        st.tuples(st.sampled_from(_NAMES), st.just("file")),
        st.tuples(st.sampled_from(_NAMES), st.just("dir")),
        st.tuples(st.sampled_from(_NAMES), st.just("symlink"), st.sampled_from(links)),
        st.tuples(st.sampled_from(_NAMES), st.just("hardlink"),
                  st.sampled_from(_NAMES + ["secret", "../secret"])),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_property_host_never_written(tmp_path_factory, data):
    for fallback in (False, True):
        inroot.use_fallback(fallback)
        try:
            box = Box(tmp_path_factory.mktemp("prop"))
            members = data.draw(st.lists(_member(str(box.host)), min_size=1, max_size=8))
            entries = []
            for m in members:
                if m[1] in ("symlink", "hardlink"):
                    entries.append(entry(m[0], m[1], link=m[2], mode=0o777, uid=1000))
                elif m[1] == "dir":
                    entries.append(entry(m[0], "dir", mode=0o777, uid=1000))
                else:
                    entries.append(entry(m[0], data=b"evil", mode=0o4777, uid=1000))
            try:
                box.extract(make_tar(*entries))
            except ExtractRefused:
                pass
            assert box.untouched()
            assert sorted(os.listdir(box.root.parent)) == ["host", "root"]
        finally:
            inroot.use_fallback(False)


def test_member_made_from_a_file_and_chmod_option(box):
    """COPY's members: bytes from an opener, an exact mtime in ns, --chmod on files and
    directories (never through a link)."""
    from sampan.store.extract_at import Extractor, FdTree, Member

    d = Member("d")
    d.type, d.mode = tarfile.DIRTYPE, 0o700
    f = Member("d/f")
    f.type, f.size, f.mode = tarfile.REGTYPE, 3, 0o600
    f.mtime_ns = 1_500_000_000_123_456_789
    f.opener = lambda: io.BytesIO(b"abc")
    s = Member("d/s")
    s.type, s.linkname = tarfile.SYMTYPE, str(box.secret)
    rfd = inroot.open_root(box.root)
    try:
        with Extractor(FdTree(rfd), "/", ExtractOptions(chmod=0o751)) as ex:
            for m in (d, f, s):
                ex.apply(m)
            ex.finish()
    finally:
        os.close(rfd)
    st_ = os.lstat(box.root / "d" / "f")
    assert (box.root / "d" / "f").read_bytes() == b"abc" and st_.st_mtime_ns == f.mtime_ns
    assert stat.S_IMODE(st_.st_mode) == 0o751
    assert stat.S_IMODE(os.lstat(box.root / "d").st_mode) == 0o751
    assert box.untouched()
