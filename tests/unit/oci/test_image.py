import hashlib
import json

import pytest
from hypothesis import given, strategies as st

from sampan.errors import InvalidArgument
from sampan.oci.image import (DOCKER_MANIFEST, OCI_INDEX, OCI_LAYER_GZIP, OCI_MANIFEST,
                              chain_id, chain_ids, parse_config, parse_index, parse_manifest)

D1, D2, D3 = ("sha256:" + c * 64 for c in "123")


def manifest(**over):
    m = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
         "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": D1, "size": 7},
         "layers": [{"mediaType": OCI_LAYER_GZIP, "digest": D2, "size": 10}]}
    m.update(over)
    return json.dumps(m).encode()


def config(**over):
    c = {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": [D3]},
         "config": {"Env": ["A=b"], "Cmd": ["sh"]}}
    c.update(over)
    return json.dumps(c).encode()


def test_parse_manifest_ok():
    m = parse_manifest(manifest())
    assert m.config.digest == D1 and m.layers[0].size == 10
    assert parse_manifest(manifest(mediaType=DOCKER_MANIFEST)).media_type == DOCKER_MANIFEST


@pytest.mark.parametrize("data", [
    b"not json", b"[]", b"{}",
    manifest(schemaVersion="2"),
    manifest(mediaType=OCI_INDEX),
    manifest(config=None),
    manifest(config={"mediaType": "x", "digest": "sha256:zz", "size": 1}),
    manifest(config={"mediaType": "x", "digest": D1, "size": -1}),
    manifest(config={"mediaType": "x", "digest": D1, "size": True}),
    manifest(config={"mediaType": "x", "digest": D1, "size": "7"}),
    manifest(layers={"a": 1}),
    manifest(layers=[{"mediaType": "text/plain", "digest": D2, "size": 1}]),
    manifest(layers=[[]]),
    manifest(annotations={"a": 1}),
    manifest(manifests=[]),
])
def test_parse_manifest_hostile(data):
    with pytest.raises(InvalidArgument) as e:
        parse_manifest(data)
    assert "\n" not in str(e.value)


def test_parse_index():
    idx = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": OCI_MANIFEST, "digest": D1, "size": 3,
         "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}}]}
    i = parse_index(json.dumps(idx).encode())
    assert i.manifests[0].platform.variant == "v8"
    idx["manifests"][0]["platform"] = {"os": 1}
    with pytest.raises(InvalidArgument):
        parse_index(json.dumps(idx).encode())


@pytest.mark.parametrize("data", [
    config(architecture=1), config(rootfs=None), config(rootfs={"type": "layers"}),
    config(rootfs={"type": "layers", "diff_ids": ["nope"]}),
    config(config={"Env": "A=b"}), config(config={"Cmd": [1]}), config(config=[]),
    config(config={"ExposedPorts": ["80/tcp"]}), config(config={"Labels": {"a": 1}}),
    config(history=[{"created_by": 5}]), config(history={}), config(created=5),
])
def test_parse_config_hostile(data):
    with pytest.raises(InvalidArgument):
        parse_config(data)


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=4),
                    max_leaves=12))
def test_parsers_only_raise_invalid_argument(obj):
    data = json.dumps(obj).encode()
    for parse in (parse_manifest, parse_config, parse_index):
        try:
            parse(data)
        except InvalidArgument:
            pass


def test_chain_ids_follow_the_spec():
    expect2 = "sha256:" + hashlib.sha256(f"{D1} {D2}".encode()).hexdigest()
    expect3 = "sha256:" + hashlib.sha256(f"{expect2} {D3}".encode()).hexdigest()
    assert chain_ids([D1, D2, D3]) == [D1, expect2, expect3]
    assert chain_id([D1]) == D1
    assert chain_id([D1, D2, D3]) == expect3


@given(st.binary(max_size=300))
def test_small_sha256_is_sha256(data):
    from sampan.oci.digest import sha256_hex_small
    assert sha256_hex_small(data) == hashlib.sha256(data).hexdigest()

