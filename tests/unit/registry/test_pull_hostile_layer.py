"""A pulled layer that would write outside its root (or not unpack at all) is refused by
`pull`, with the store left as it was, not accepted now to fail at the first `run`."""

import gzip
import json

import pytest

from sampan.errors import RegistryError, SampanError
from sampan.registry import pull
from tests.unit.archive.conftest import make_store
from tests.unit.archive.test_hostile_layers import HOSTILE
from tests.unit.registry.fakeregistry import FakeRegistry
from tests.unit.registry import images
from tests.unit.registry.images import sha


def _image(tar: bytes) -> images.TestImage:
    layer = gzip.compress(tar)
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": [sha(tar)]}}).encode()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha(config),
                   "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": sha(layer),
                    "size": len(layer)}]}).encode()
    return images.TestImage(manifest, config, [layer], [sha(tar)])


@pytest.mark.parametrize("what", ["dotdot", "hardlink out", "symlink then file", "bad capability"])
def test_hostile_layer_refused_at_pull(tmp_path, what):
    store = make_store(tmp_path)
    with FakeRegistry() as reg:
        reg.add_image("evil", "1", _image(HOSTILE[what]))
        with pytest.raises(RegistryError) as e:
            pull(store, f"{reg.host}/evil:1", progress=False)
    assert "refused" in e.value.message and "\n" not in e.value.message
    assert list(store.paths.blobs.glob("*")) == []
    assert list(store.paths.tmp.glob("*")) == []
    with pytest.raises(SampanError):
        store.resolve(f"{reg.host}/evil:1")
    store.db.close()
