"""save/load round trips between two real stores, docker and OCI formats."""

import io
import json
import os
import tarfile
import threading

import pytest

from sampan.archive import load, save


def members(data: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        return {m.name: t.extractfile(m).read() for m in t.getmembers() if m.isfile()}


def test_docker_format_has_layout_and_manifest_json(busybox_store):
    a, _ = busybox_store
    out = io.BytesIO()
    save(a, ["busybox:latest", "example.com/team/bb:v1"], out, "docker")
    files = members(out.getvalue())
    mj = json.loads(files["manifest.json"])
    assert len(mj) == 1 and sorted(mj[0]["RepoTags"]) == ["busybox:latest", "example.com/team/bb:v1"]
    info = a.resolve("busybox")
    layer = files[mj[0]["Layers"][0]]
    assert layer[:2] != b"\x1f\x8b"            # Docker writes uncompressed layers
    import hashlib
    assert "sha256:" + hashlib.sha256(layer).hexdigest() == info.layers[0].diff_id
    assert json.loads(files["oci-layout"])["imageLayoutVersion"] == "1.0.0"
    idx = json.loads(files["index.json"])
    names = {m["annotations"]["io.containerd.image.name"] for m in idx["manifests"]}
    assert names == {"docker.io/library/busybox:latest", "example.com/team/bb:v1"}
    assert json.loads(files["repositories"])["busybox"]["latest"]


@pytest.mark.parametrize("fmt", ["docker", "oci"])
def test_save_load_roundtrip_same_image(busybox_store, fmt):
    a, b = busybox_store
    out = io.BytesIO()
    save(a, ["busybox:latest"], out, fmt)
    loaded = load(b, io.BytesIO(out.getvalue()))
    assert [str(x) for x in loaded] == ["busybox:latest"]
    ia, ib = a.resolve("busybox:latest"), b.resolve("busybox:latest")
    assert ia.id == ib.id and ia.diff_ids == ib.diff_ids
    if fmt == "oci":
        assert ia.manifest_digest == ib.manifest_digest
    # the layer content really is there in the second store
    for layer in ib.layers:
        assert b.has_blob(layer.digest)


def test_load_from_a_pipe(busybox_store):
    a, b = busybox_store
    out = io.BytesIO()
    save(a, ["busybox:latest"], out, "docker")
    r, w = os.pipe()

    def feed():
        with os.fdopen(w, "wb") as f:
            f.write(out.getvalue())
    th = threading.Thread(target=feed)
    th.start()
    with os.fdopen(r, "rb") as f:
        loaded = load(b, f)
    th.join()
    assert loaded == ["busybox:latest"]


def test_save_by_id_is_untagged_and_loads_as_id(busybox_store):
    a, b = busybox_store
    info = a.resolve("busybox")
    out = io.BytesIO()
    save(a, [info.id], out, "docker")
    assert load(b, io.BytesIO(out.getvalue())) == [info.id]
    assert b.resolve(info.id).repo_tags == []


def test_two_images_in_one_archive_and_gzipped_archive(busybox_store, busybox_tar):
    import gzip
    a, b = busybox_store
    with open(busybox_tar, "rb") as f:
        a.import_rootfs(f, "other/img:2", changes=["ENV X=1"])
    assert a.resolve("other/img:2").id != a.resolve("busybox").id
    out = io.BytesIO()
    save(a, ["busybox:latest", "other/img:2"], out, "docker")
    loaded = load(b, io.BytesIO(gzip.compress(out.getvalue())))   # `docker save | gzip`
    assert sorted(loaded) == ["busybox:latest", "other/img:2"]
    assert b.resolve("other/img:2").config["config"]["Env"] == ["X=1"]


def test_oci_archive_with_nested_platform_index(busybox_store):
    """Multi-platform OCI archives (index -> index -> manifests): the host's platform is
    loaded, named by the outer annotation."""
    import hashlib
    a, b = busybox_store
    out = io.BytesIO()
    save(a, ["busybox:latest"], out, "oci")
    files = members(out.getvalue())
    outer = json.loads(files["index.json"])
    entry = outer["manifests"][0]
    arch = a.resolve("busybox").config["architecture"]
    inner = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                        "manifests": [{"mediaType": entry["mediaType"], "digest": entry["digest"],
                                       "size": entry["size"],
                                       "platform": {"os": "linux", "architecture": arch}}]}).encode()
    inner_d = "sha256:" + hashlib.sha256(inner).hexdigest()
    files["blobs/sha256/" + inner_d[7:]] = inner
    files["index.json"] = json.dumps({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.index.v1+json", "digest": inner_d,
        "size": len(inner), "annotations": entry["annotations"]}]}).encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, data in files.items():
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
    buf.seek(0)
    assert load(b, buf) == ["busybox:latest"]
    assert b.resolve("busybox").manifest_digest == a.resolve("busybox").manifest_digest
