"""A layer made into an EROFS image (store/erofs_layer.py) holds what the directory
extractor (store/unpack.py) makes of the same tar: the same refusals, and once mounted by
the kernel the same tree (types, modes, owners, sizes, contents, link targets, devices,
xattrs, hard links, mtimes). Hostile and odd tars, random mixes of entries, a real rootfs."""

import hashlib
import io
import os
import random
import stat
import tarfile
import time

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from sampan.errors import SampanError
from sampan.store import erofs_mount
from sampan.store.erofs_layer import tar_to_image
from sampan.store.unpack import extract_tar
from tests.unit.store.tarmaker import entry, make_tar
from tests.unit.store.test_shape_parity import _kinds, _links, _meta, _names, _odd_tars, _pax, random_tar

pytestmark = pytest.mark.skipif(not erofs_mount.supported(), reason="this kernel mounts no EROFS file")


def _tree(root: str, started: float) -> dict:
    """path -> what a reader of the tree sees. An mtime set by the unpacking itself (a
    directory the tar did not name, a whiteout) is 'now' in both forms: not compared."""
    out = {}
    inodes: dict[int, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        names = sorted(dirnames + filenames) + ([""] if dirpath == root else [])
        for name in names:
            p = os.path.join(dirpath, name) if name else dirpath
            rel = os.path.relpath(p, root)
            st_ = os.lstat(p)
            item = {"mode": oct(st_.st_mode), "uid": st_.st_uid, "gid": st_.st_gid}
            if st_.st_mtime < started - 1:
                item["mtime_ns"] = st_.st_mtime_ns
            if stat.S_ISREG(st_.st_mode):
                item["size"] = st_.st_size
                with open(p, "rb") as f:
                    item["sha"] = hashlib.sha256(f.read()).hexdigest()
                item["nlink"] = st_.st_nlink
                first = inodes.setdefault(st_.st_ino, rel)
                item["same_file_as"] = first
            elif stat.S_ISLNK(st_.st_mode):
                item["target"] = os.readlink(p)
            elif stat.S_ISCHR(st_.st_mode) or stat.S_ISBLK(st_.st_mode):
                item["rdev"] = st_.st_rdev
            if not stat.S_ISLNK(st_.st_mode):
                item["xattrs"] = {k: os.getxattr(p, k, follow_symlinks=False)
                                  for k in sorted(os.listxattr(p, follow_symlinks=False))}
            out[rel] = item
    return out


def _both(tar: bytes, tmp_path) -> tuple[str | None, str | None, dict | None, dict | None]:
    """(dir refusal, image refusal, dir tree, image tree)."""
    started = time.time()
    dest = tmp_path / "dir"
    dest.mkdir()
    dir_err = img_err = None
    try:
        extract_tar(io.BytesIO(tar), dest)
    except SampanError as e:
        dir_err = e.message
    probe = tmp_path / "probe"
    probe.mkdir()
    image = tmp_path / "layer.erofs"
    try:
        tar_to_image(io.BytesIO(tar), image, str(probe))
    except SampanError as e:
        img_err = e.message
    assert os.listdir(probe) == []
    if dir_err or img_err:
        return dir_err, img_err, None, None
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    erofs_mount.mount(image, mnt)
    try:
        return None, None, _tree(str(dest), started), _tree(str(mnt), started)
    finally:
        erofs_mount.unmount(mnt)


@pytest.mark.parametrize("what, entries", list(_odd_tars()), ids=[w for w, _ in _odd_tars()])
def test_odd_entries_same_verdict_and_tree(tmp_path, what, entries):
    try:
        tar = make_tar(*entries)
    except (ValueError, OverflowError):
        pytest.skip("tarfile will not write this header")
    dir_err, img_err, dir_tree, img_tree = _both(tar, tmp_path)
    assert (dir_err is None) == (img_err is None), (what, dir_err, img_err)
    assert img_err is None or "\n" not in img_err
    assert dir_tree == img_tree, what


def _everyday_entries():
    e = entry
    return [
        e(".", "dir", mode=0o755, mtime=1_500_000_000),
        e("etc", "dir", mode=0o755), e("etc/passwd", data=b"root:x:0:0::/root:/bin/sh\n"),
        e("etc/shadow", data=b"root:*::::::\n", mode=0o640, gid=42),
        e("bin", "dir"), e("bin/tool", data=os.urandom(70_000), mode=0o4755, uid=0),
        e("bin/again", "hardlink", link="bin/tool"),
        e("bin/sh", "symlink", link="tool"), e("lib/long", "symlink", link="x/" * 1500),
        e("usr/share/empty", data=b""), e("dev/null", "chr", dev=(1, 3)), e("dev/sda", "blk", dev=(8, 0)),
        e("dev/big", "chr", dev=(259, 70000)),
        e("run/fifo", "fifo", mode=0o620), e("home/u", "dir", mode=0o700, uid=1000, gid=1000),
        e("home/u/.wh..wh..opq", data=b""), e(".wh.gone", data=b""), e("var/.wh.cache", data=b""),
        (_pax(e("bin/ping", data=b"ELF")[0], **{"SCHILY.xattr.user.note": "kept",
                                              "SCHILY.xattr.security.capability":
                                              "\x01\x00\x00\x02\x00\x20\x00\x00" + "\x00" * 12}), b"ELF"),
        e("many", "dir"),
    ] + [e(f"many/f{i:05d}-{'n' * (i % 200)}", data=str(i).encode()) for i in range(700)] + [
        e("deep/" + "/".join(["d"] * 60) + "/leaf", data=b"deep"),
        e("big", data=os.urandom(3 * 4096 + 17), uid=2**31, gid=70000, mtime=-86400),
    ]


def test_everyday_layer_same_tree(tmp_path):
    tar = make_tar(*_everyday_entries())
    dir_err, img_err, dir_tree, img_tree = _both(tar, tmp_path)
    assert dir_err is None and img_err is None, (dir_err, img_err)
    assert dir_tree is not None and len(dir_tree) > 700
    assert dir_tree == img_tree
    assert img_tree["bin/tool"]["same_file_as"] == "bin/again" and img_tree["bin/tool"]["nlink"] == 2
    assert img_tree["home/u"]["xattrs"] == {"trusted.overlay.opaque": b"y"}
    assert img_tree["gone"]["rdev"] == 0 and img_tree["gone"]["mode"] == oct(stat.S_IFCHR | 0o600)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(_names, _kinds, _links, _meta), min_size=1, max_size=7))
def test_random_layers_same_verdict_and_tree(tmp_path_factory, items):
    tar = random_tar(items)
    if tar is None:
        return
    dir_err, img_err, dir_tree, img_tree = _both(tar, tmp_path_factory.mktemp("erofs"))
    assert (dir_err is None) == (img_err is None), (items, dir_err, img_err)
    assert dir_tree == img_tree, items


@pytest.mark.parametrize("size", [3900, 5000])
def test_xattrs_near_a_block_same_verdict(tmp_path, size):
    tar = make_tar((_pax(entry("f", data=b"x")[0], **{"SCHILY.xattr.user.big": "v" * size}), b"x"))
    dir_err, img_err, dir_tree, img_tree = _both(tar, tmp_path)
    assert (dir_err is None) == (img_err is None) == (size < 4000), (dir_err, img_err)
    assert dir_tree == img_tree


def test_a_layer_too_big_to_index_is_refused(tmp_path, monkeypatch):
    from sampan.store import erofs_layer
    monkeypatch.setattr(erofs_layer, "TREE_BYTES_MAX", 50_000)
    tar = make_tar(*[entry(f"f{i}", data=b"") for i in range(400)])
    with pytest.raises(SampanError, match="too many entries"):
        tar_to_image(io.BytesIO(tar), tmp_path / "x.erofs", str(tmp_path))


def test_truncated_archive_is_refused_and_leaves_no_mount(tmp_path):
    tar = make_tar(entry("f", data=os.urandom(20_000)))
    with pytest.raises(SampanError):
        tar_to_image(io.BytesIO(tar[:9000]), tmp_path / "x.erofs", str(tmp_path))


def test_many_random_files_same_tree(tmp_path):
    rnd = random.Random(7)
    items = []
    for i in range(3000):
        depth = rnd.randrange(1, 5)
        name = "/".join(f"d{rnd.randrange(8)}" for _ in range(depth)) + f"/f{i}"
        items.append(entry(name, data=rnd.randbytes(rnd.choice([0, 1, 4095, 4096, 4097, 20000]))))
    dir_err, img_err, dir_tree, img_tree = _both(make_tar(*items), tmp_path)
    assert dir_err is None and img_err is None
    assert dir_tree == img_tree


def test_tar_of_tarfile_written_members_roundtrips(tmp_path):
    """What `tar` reads back from a mounted image is what went in (order aside)."""
    tar = make_tar(*_everyday_entries()[:12])
    image = tmp_path / "l.erofs"
    tar_to_image(io.BytesIO(tar), image, str(tmp_path))
    mnt = tmp_path / "m"
    mnt.mkdir()
    erofs_mount.mount(image, mnt)
    try:
        assert (mnt / "etc" / "passwd").read_bytes().startswith(b"root:x:0:0")
        assert os.readlink(mnt / "lib" / "long") == "x/" * 1500
        with tarfile.open(fileobj=io.BytesIO(tar)) as t:
            tool = t.extractfile("bin/tool").read()
        assert (mnt / "bin" / "tool").read_bytes() == tool
    finally:
        erofs_mount.unmount(mnt)
