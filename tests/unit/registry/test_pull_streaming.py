"""A pull unpacks each layer while it downloads (store/layerfeed.py, fed by the digest
thread's one decompression). What it leaves in layers/<chain-id>/ must equal byte for byte
what the serial unpack at `run` makes from the blob (modes, owners, xattrs, hardlinks,
whiteouts, devices), for gzip, multi-member gzip, zstd and plain layers; a layer that fails
in any way mid-way leaves no blob, no layer dir and no scratch dir."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import random
import stat
import tarfile

import pytest
import zstandard

from sampan.errors import DigestMismatch, RegistryError
from sampan.oci.digest import digest_hex
from sampan.oci.image import chain_ids
from sampan.registry import pull
from tests.unit.archive.conftest import make_store
from tests.unit.registry.fakeregistry import FakeRegistry
from tests.unit.registry.images import TestImage as Img, promise_other_content, sha

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="owners, devices and whiteouts need root")


def _add(t: tarfile.TarFile, name: str, kind=tarfile.REGTYPE, data: bytes = b"", mode=0o644,
         uid=0, gid=0, linkname="", xattrs=None, mtime=1_600_000_000, dev=(0, 0)) -> None:
    ti = tarfile.TarInfo(name)
    ti.type, ti.mode, ti.uid, ti.gid, ti.mtime, ti.linkname = kind, mode, uid, gid, mtime, linkname
    ti.devmajor, ti.devminor = dev
    if xattrs:
        ti.pax_headers = {f"SCHILY.xattr.{k}": v for k, v in xattrs.items()}
    ti.size = len(data) if kind == tarfile.REGTYPE else 0
    t.addfile(ti, io.BytesIO(data) if kind == tarfile.REGTYPE else None)


def odd_layer(seed: int) -> bytes:
    """Every kind of entry an image layer holds, and some the extractor must fix up."""
    rnd = random.Random(seed)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        _add(t, "./", tarfile.DIRTYPE, mode=0o755, mtime=1_500_000_000)
        _add(t, "etc", tarfile.DIRTYPE, mode=0o750, uid=1000, gid=1001)
        _add(t, "etc/passwd", data=b"root:x:0:0::/root:/bin/sh\n", mode=0o644)
        _add(t, "etc/shadow", data=b"root:*:1::::::\n", mode=0o640, gid=42)
        _add(t, "bin", tarfile.DIRTYPE, mode=0o755)
        _add(t, "bin/su", data=os.urandom(5000), mode=0o4755)
        _add(t, "bin/ping", data=os.urandom(3000), mode=0o755,
             xattrs={"user.sampan.test": "ping", "trusted.sampan": "t"})
        _add(t, "bin/sh", tarfile.SYMTYPE, linkname="busybox")
        _add(t, "bin/abs", tarfile.SYMTYPE, linkname="/etc/passwd", uid=7, gid=8)
        _add(t, "bin/busybox", data=os.urandom(rnd.randrange(1 << 20, 3 << 20)), mode=0o755)
        _add(t, "bin/ln-busybox", tarfile.LNKTYPE, linkname="bin/busybox")
        _add(t, "dev", tarfile.DIRTYPE, mode=0o755)
        _add(t, "dev/null", tarfile.CHRTYPE, mode=0o666, dev=(1, 3))
        _add(t, "dev/fifo", tarfile.FIFOTYPE, mode=0o600)
        _add(t, ".wh.removed-below", data=b"")
        _add(t, "opaque", tarfile.DIRTYPE, mode=0o700)
        _add(t, "opaque/.wh..wh..opq", data=b"")
        _add(t, "opaque/kept", data=b"kept\n")
        _add(t, "tmp", tarfile.DIRTYPE, mode=0o1777)
        _add(t, "again", data=b"first")          # a later entry of the same name wins
        _add(t, "again", data=b"second", mode=0o600)
        _add(t, "was-dir", tarfile.DIRTYPE)
        _add(t, "was-dir/x", data=b"x")
        _add(t, "was-dir", data=b"now a file")
        for d in ["usr", "usr/share"] + [f"usr/share/d{i}" for i in range(17)]:
            _add(t, d, tarfile.DIRTYPE, mode=0o755)      # an implicit dir's mtime is "now"
        for i in range(rnd.randrange(200, 400)):    # many small files, many tar records
            d = f"usr/share/d{i % 17}"
            _add(t, f"{d}/f{i}", data=os.urandom(rnd.randrange(0, 9000)),
                 mode=rnd.choice([0o644, 0o600, 0o755, 0o444]), uid=rnd.randrange(0, 3),
                 mtime=1_600_000_000 + i)
    return buf.getvalue() + b"\0" * 4096   # padding past the tar's end: part of the diff_id


def multi_member_gzip(tar: bytes) -> bytes:
    cut = len(tar) // 3
    return gzip.compress(tar[:cut]) + gzip.compress(tar[cut:])


COMPRESSORS = {
    "gzip": gzip.compress,
    "gzip-members": multi_member_gzip,
    "zstd": lambda b: zstandard.ZstdCompressor().compress(b),
    "plain": lambda b: b,
}


def image_of(tars: list[bytes], compress) -> Img:
    layers = [compress(t) for t in tars]
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": [sha(t) for t in tars]}}).encode()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha(config),
                   "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": sha(b),
                    "size": len(b)} for b in layers]}).encode()
    return Img(manifest, config, layers, [sha(t) for t in tars])


def tree(root: str) -> dict:
    """Everything a container would see of a dir, hardlinks as groups of one inode."""
    out, inodes = {}, {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames + (["."] if dirpath == root else []):
            p = os.path.normpath(os.path.join(dirpath, name))
            st = os.lstat(p)
            rel = os.path.relpath(p, root)
            rec = {"mode": st.st_mode, "uid": st.st_uid, "gid": st.st_gid, "mtime": st.st_mtime_ns,
                   "xattrs": {x: os.getxattr(p, x, follow_symlinks=False)
                              for x in sorted(os.listxattr(p, follow_symlinks=False))}}
            if stat.S_ISREG(st.st_mode):
                with open(p, "rb") as f:
                    rec["sha"] = hashlib.sha256(f.read()).hexdigest()
                rec["link"] = inodes.setdefault(st.st_ino, rel)
            elif stat.S_ISLNK(st.st_mode):
                rec["target"] = os.readlink(p)
            elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                rec["rdev"] = st.st_rdev
                if st.st_rdev == 0:
                    del rec["mtime"]      # an overlay whiteout is made "now", with no tar times
            out[rel] = rec
    return out


@pytest.mark.parametrize("kind,mode,form", [(k, "thread", f) for k in COMPRESSORS for f in ("image", "dir")]
                         + [("gzip", "process", "dir")])
def test_streamed_unpack_equals_serial_unpack(tmp_path, kind, mode, form, monkeypatch):
    monkeypatch.setenv("SAMPAN_UNPACK", mode)      # the extractor in a thread or a child
    monkeypatch.setenv("SAMPAN_LAYER_FORMAT", form)   # an EROFS image where the kernel mounts one
    store = make_store(tmp_path)
    tars = [odd_layer(s) for s in range(5)]
    img = image_of(tars, COMPRESSORS[kind])
    with FakeRegistry() as reg:
        reg.add_image("odd", "1", img)
        info = pull(store, f"{reg.host}/odd:1", progress=False)
    chains = chain_ids(img.diff_ids)
    streamed = {}
    for c in chains:
        d = store.unpacker.layer_dir(c)
        assert (d / "complete").read_text() == f"{img.diff_ids[chains.index(c)]}\n"
        streamed[c] = tree(str(store.unpacker.ready_dir(c)))
        assert store.unpacker.remove(c)
    assert not list(store.paths.tmp.iterdir())
    assert [l.uncompressed_size for l in store.resolve(info.id).layers] == [len(t) for t in tars]
    store.layer_dirs(info)                      # the serial unpack at `run`, from the blobs
    for c in chains:
        serial = tree(str(store.unpacker.ready_dir(c)))
        assert streamed[c] == serial
        assert serial["dev/null"]["rdev"] == os.makedev(1, 3)
        assert stat.S_ISCHR(serial["removed-below"]["mode"])          # the overlay whiteout
        assert serial["opaque"]["xattrs"] == {"trusted.overlay.opaque": b"y"}
        assert serial["bin/ln-busybox"]["link"] == "bin/busybox"
        assert serial["bin/su"]["mode"] & 0o7777 == 0o4755
    store.db.close()


def test_repull_of_known_image_does_no_layer_work(tmp_path):
    store = make_store(tmp_path)
    img = image_of([odd_layer(1), odd_layer(2)], gzip.compress)
    with FakeRegistry() as reg:
        reg.add_image("k", "1", img)
        pull(store, f"{reg.host}/k:1", progress=False)
        dirs = {c: os.stat(store.unpacker.layer_dir(c)).st_ino for c in chain_ids(img.diff_ids)}
        for b in img.layers + [img.config]:    # any blob download would now fail
            reg.blob_override[sha(b)] = b"\x1f\x8bnot this"
        out = io.StringIO()
        from sampan.registry.progress import PlainProgress
        pull(store, f"{reg.host}/k:1", progress=PlainProgress(out))
    assert "Already exists" not in out.getvalue()   # Docker prints no layer lines then
    assert "Image is up to date" in out.getvalue()
    assert {c: os.stat(store.unpacker.layer_dir(c)).st_ino for c in dirs} == dirs
    store.db.close()


def _assert_nothing_left(store) -> None:
    assert list(store.paths.blobs.glob("*")) == []
    assert list(store.paths.layers.glob("*")) == [] if store.paths.layers.exists() else True
    assert list(store.paths.tmp.glob("*")) == []


@pytest.mark.parametrize("attack,mode", [(a, "thread") for a in (
    "diff_id", "cut_short", "tampered", "bomb", "bad_entry_late", "truncated_tar")] + [
    ("bad_entry_late", "process"), ("truncated_tar", "process"), ("diff_id", "process")])
def test_failed_layer_mid_way_leaves_nothing(tmp_path, attack, mode, monkeypatch):
    monkeypatch.setenv("SAMPAN_UNPACK", mode)
    store = make_store(tmp_path)
    tars = [odd_layer(1), odd_layer(2), odd_layer(3)]
    if attack == "bad_entry_late":      # refused by the extractor after megabytes of good ones
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
            for i in range(50):
                _add(t, f"ok{i}", data=os.urandom(50_000))
            _add(t, "../../escape", data=b"pwned")
        tars[1] = buf.getvalue()
    if attack == "truncated_tar":       # the gzip is whole, the tar inside it stops mid-entry
        tars[1] = tars[1][:len(tars[1]) // 2 + 7]
    if attack == "bomb":
        monkeypatch.setenv("SAMPAN_MAX_LAYER_SIZE", str(len(tars[1]) // 2))
    img = image_of(tars, gzip.compress)
    layer = sha(img.layers[1])
    if attack == "diff_id":             # the config promises other content for layer 1
        promise_other_content(img, 1)
    with FakeRegistry() as reg:
        reg.add_image("f", "1", img)
        if attack == "cut_short":
            reg.blob_override[layer] = img.layers[1][:len(img.layers[1]) // 2]
            reg.length_override[layer] = len(img.layers[1])
        elif attack == "tampered":
            blob = bytearray(img.layers[1])
            blob[len(blob) // 2] ^= 0xFF
            reg.blob_override[layer] = bytes(blob)
        with pytest.raises((DigestMismatch, RegistryError)) as e:
            pull(store, f"{reg.host}/f:1", progress=False)
    msg = str(e.value)
    assert ("refused" in msg or "network error" in msg) and "\n" not in msg
    _assert_nothing_left(store)
    for c in chain_ids(img.diff_ids):
        assert not store.unpacker.layer_dir(c).exists(), digest_hex(c)
    store.db.close()
