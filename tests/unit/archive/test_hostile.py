"""Hostile or odd archives: refused with one clear line and nothing left in the store;
classic `docker save` layout (layer dirs, symlinked duplicate layers) accepted."""

import gzip
import hashlib
import io
import json
import tarfile

import pytest

from sampan.archive import load
from sampan.errors import DigestMismatch, InvalidArgument, SampanError, UnsafeArchive


def sha(b: bytes) -> str:
    return "sha256:" + hashlib.sha256(b).hexdigest()


def layer_tar(name: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        ti = tarfile.TarInfo(name)
        ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def archive(files: dict[str, bytes], symlinks: dict[str, str] | None = None) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, data in files.items():
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
        for name, target in (symlinks or {}).items():
            ti = tarfile.TarInfo(name)
            ti.type, ti.linkname = tarfile.SYMTYPE, target
            t.addfile(ti)
    buf.seek(0)
    return buf


def config_for(diff_ids: list[str]) -> bytes:
    return json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                       "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()


def legacy_archive(layers: list[bytes], tags=("old/app:1",), tamper=None, symlink_dup=False,
                   diff_ids=None):
    cfg = config_for(diff_ids or [sha(l) for l in layers])
    files = {f"{sha(cfg)[7:]}.json": cfg}
    paths = []
    for i, l in enumerate(layers):
        lid = hashlib.sha256(b"v1id%d" % i).hexdigest()
        files[f"{lid}/VERSION"] = b"1.0"
        files[f"{lid}/json"] = b"{}"
        files[f"{lid}/layer.tar"] = l
        paths.append(f"{lid}/layer.tar")
    files["manifest.json"] = json.dumps([{"Config": f"{sha(cfg)[7:]}.json", "RepoTags": list(tags),
                                          "Layers": paths}]).encode()
    files["repositories"] = b"{}"
    if tamper:
        tamper(files)
    links = {}
    if symlink_dup:
        # classic docker save: a repeated layer is a symlink to the first copy
        lid = hashlib.sha256(b"dup").hexdigest()
        links[f"{lid}/layer.tar"] = f"../{paths[0]}"
        m = json.loads(files["manifest.json"])
        m[0]["Layers"].append(f"{lid}/layer.tar")
        files["manifest.json"] = json.dumps(m).encode()
        cfgd = json.loads(cfg)
        cfgd["rootfs"]["diff_ids"].append(sha(layers[0]))
        cfg2 = json.dumps(cfgd).encode()
        del files[f"{sha(cfg)[7:]}.json"]
        files[f"{sha(cfg2)[7:]}.json"] = cfg2
        m[0]["Config"] = f"{sha(cfg2)[7:]}.json"
        files["manifest.json"] = json.dumps(m).encode()
    return archive(files, links)


def blob_count(store) -> int:
    return len(list(store.paths.blobs.glob("*")))


def test_classic_docker_save_layout_with_symlinked_layer(stores):
    _, b = stores
    l1, l2 = layer_tar("a", b"one"), layer_tar("b", b"two")
    assert load(b, legacy_archive([l1, l2], symlink_dup=True)) == ["old/app:1"]
    info = b.resolve("old/app:1")
    assert [l.diff_id for l in info.layers] == [sha(l1), sha(l2), sha(l1)]


def test_gzip_layers_in_docker_archive_keep_their_compression(stores):
    _, b = stores
    raw = layer_tar("a", b"zipped")
    gz = gzip.compress(raw)
    assert load(b, legacy_archive([gz], tags=("z:1",), diff_ids=[sha(raw)])) == ["z:1"]
    # config names the uncompressed diff_id; the stored blob is the gzip as given
    info = b.resolve("z:1")
    assert info.layers[0].digest == sha(gz) and info.layers[0].diff_id == sha(raw)


def _replace_config_diff(files):
    name = next(k for k in files if k.endswith(".json") and len(k) == 69)
    cfg = json.loads(files[name])
    cfg["rootfs"]["diff_ids"][0] = sha(b"not the layer")
    new = json.dumps(cfg).encode()
    del files[name]
    files[sha(new)[7:] + ".json"] = new
    m = json.loads(files["manifest.json"])
    m[0]["Config"] = sha(new)[7:] + ".json"
    files["manifest.json"] = json.dumps(m).encode()


def _escape_layer(files):
    m = json.loads(files["manifest.json"])
    m[0]["Layers"][0] = "../../../../etc/passwd"
    files["manifest.json"] = json.dumps(m).encode()


def _tamper_config(files):
    name = next(k for k in files if k.endswith(".json") and len(k) == 69)
    files[name] = files[name].replace(b"amd64", b"arm64")


@pytest.mark.parametrize("tamper,err", [
    (_replace_config_diff, DigestMismatch),
    (_escape_layer, UnsafeArchive),
    (_tamper_config, DigestMismatch),
    (lambda f: f.update({"manifest.json": b"[{]"}), InvalidArgument),
    (lambda f: f.update({"../evil": b"x"}), UnsafeArchive),
    (lambda f: f.update({"/abs": b"x"}), UnsafeArchive),
])
def test_hostile_archive_refused_store_untouched(busybox_store, tamper, err):
    a, _ = busybox_store
    before = blob_count(a)
    l1, l2 = layer_tar("a", b"one"), layer_tar("b", b"two")
    with pytest.raises(err) as e:
        load(a, legacy_archive([l1, l2], tamper=tamper))
    assert "\n" not in str(e.value)
    assert blob_count(a) == before
    with pytest.raises(SampanError):
        a.resolve("old/app:1")


def test_symlink_out_of_archive_refused(stores):
    _, b = stores
    l1 = layer_tar("a", b"one")
    buf = legacy_archive([l1])
    files = {}
    with tarfile.open(fileobj=buf) as t:
        for m in t.getmembers():
            files[m.name] = t.extractfile(m).read()
    lpath = json.loads(files["manifest.json"])[0]["Layers"][0]
    del files[lpath]
    with pytest.raises(UnsafeArchive):
        load(b, archive(files, {lpath: "/etc/passwd"}))
    assert blob_count(b) == 0


def test_decompression_bomb_refused(stores, monkeypatch):
    _, b = stores
    monkeypatch.setenv("SAMPAN_MAX_LAYER_SIZE", "1000000")
    raw = layer_tar("zeros", b"\0" * 5_000_000)
    with pytest.raises(DigestMismatch, match="expands past"):
        load(b, legacy_archive([gzip.compress(raw)], diff_ids=[sha(raw)]))
    assert blob_count(b) == 0


def test_not_an_archive(stores):
    _, b = stores
    with pytest.raises(InvalidArgument, match="not an image archive"):
        load(b, io.BytesIO(b"hello, not a tar" * 100))
    with pytest.raises(InvalidArgument, match="no manifest.json or index.json"):
        load(b, archive({"foo": b"bar"}))
