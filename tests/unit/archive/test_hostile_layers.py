"""A loaded image whose layer would write outside its root, or would not unpack at all,
is refused by `load` (Docker and OCI archives alike) with one line, the store left as it
was: not accepted now to fail at the first `run`."""

import io
import json
import tarfile

import pytest

from sampan.archive import load
from sampan.errors import SampanError, UnsafeArchive
from tests.unit.archive.test_hostile import blob_count, config_for, legacy_archive, sha
from tests.unit.store.tarmaker import entry, make_tar

OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"


def oci_archive(layers: list[bytes], ref: str = "evil:1") -> io.BytesIO:
    cfg = config_for([sha(l) for l in layers])
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha(cfg), "size": len(cfg)},
        "layers": [{"mediaType": OCI_LAYER, "digest": sha(l), "size": len(l)} for l in layers]}).encode()
    index = json.dumps({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": sha(manifest),
        "size": len(manifest), "annotations": {"io.containerd.image.name": f"docker.io/library/{ref}"}}]}).encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, data in [("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'), ("index.json", index),
                           ("blobs/sha256/" + sha(manifest)[7:], manifest), ("blobs/sha256/" + sha(cfg)[7:], cfg)] + \
                          [("blobs/sha256/" + sha(l)[7:], l) for l in layers]:
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
    buf.seek(0)
    return buf


def _pax(ti, **headers):
    ti.pax_headers = headers
    return ti


HOSTILE = {
    "dotdot": make_tar(entry("../../escaped", data=b"pwned")),
    "absolute": make_tar(entry("/etc/escaped", data=b"pwned")),
    "hardlink out": make_tar(entry("h", "hardlink", link="../../etc/shadow")),
    "hardlink to nothing earlier": make_tar(entry("h", "hardlink", link="etc/shadow")),
    "symlink then file": make_tar(entry("x", "symlink", link="/etc"), entry("x/escaped", data=b"pwned")),
    "bad capability": make_tar((_pax(entry("bin/ping", data=b"x")[0],
                                     **{"SCHILY.xattr.security.capability": "garbage"}), b"x")),
    "whiteout of nothing": make_tar(entry("d/.wh.", data=b"")),
    "root is a file": make_tar(entry(".", data=b"x")),
}


@pytest.mark.parametrize("fmt", ["docker", "oci"])
@pytest.mark.parametrize("what", list(HOSTILE))
def test_hostile_layer_refused_at_load(busybox_store, fmt, what):
    store, _ = busybox_store
    before = blob_count(store)
    layers = [make_tar(entry("ok", data=b"fine")), HOSTILE[what]]
    arc = legacy_archive(layers, tags=("evil:1",)) if fmt == "docker" else oci_archive(layers)
    with pytest.raises(UnsafeArchive) as e:
        load(store, arc)
    msg = e.value.message
    assert "\n" not in msg and "refused" in msg
    assert blob_count(store) == before
    with pytest.raises(SampanError):
        store.resolve("evil:1")
    assert not list(store.paths.tmp.iterdir())   # the probe and temp blobs are gone


def test_odd_but_valid_layers_still_load(busybox_store):
    store, _ = busybox_store
    ok = make_tar(entry("a", "dir"), entry("a/.wh.gone", data=b""), entry("a/.wh..wh..opq", data=b""),
                  entry("s", "symlink", link="/etc/passwd"), entry("s", data=b"replaces the link"),
                  entry("h", "hardlink", link="s"))
    assert load(store, oci_archive([ok], "fine:1")) == ["fine:1"]
    dirs = store.layer_dirs("fine:1")
    assert (dirs[0] / "s").read_bytes() == b"replaces the link"
