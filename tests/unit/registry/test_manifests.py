"""Manifest/index parsing and platform choice."""

import json

import pytest

from sampan.errors import InvalidArgument, RegistryError
from sampan.registry.manifests import (Index, Manifest, Platform, parse_manifest,
                                       parse_platform, select_platform)
from tests.unit.registry.images import make_image, sha


def index(*plats):
    return json.dumps({"schemaVersion": 2,
                       "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
                       "manifests": [{"mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                                      "digest": sha(repr(p).encode()), "size": 10, "platform": p}
                                     for p in plats]}).encode()


def test_parse_platform():
    assert parse_platform("linux/amd64") == Platform("linux", "amd64")
    assert parse_platform("linux/arm64/v8") == Platform("linux", "arm64", "v8")
    assert parse_platform("linux/x86_64") == Platform("linux", "amd64")
    with pytest.raises(InvalidArgument, match="os/arch"):
        parse_platform("amd64")
    assert parse_platform(None).os == "linux"


def test_select_variant_and_skip_attestations():
    raw = index({"os": "unknown", "architecture": "unknown"},
                {"os": "linux", "architecture": "arm", "variant": "v6"},
                {"os": "linux", "architecture": "arm", "variant": "v7"},
                {"os": "linux", "architecture": "arm64", "variant": "v8"})
    idx = parse_manifest(raw, "img")
    assert isinstance(idx, Index)
    assert select_platform(idx, Platform("linux", "arm", "v7"), "img").platform.variant == "v7"
    assert select_platform(idx, Platform("linux", "arm64", "v8"), "img").platform.architecture == "arm64"
    with pytest.raises(RegistryError, match=r"available: linux/arm/v6, linux/arm/v7, linux/arm64/v8"):
        select_platform(idx, Platform("linux", "amd64"), "img")


def test_manifest_validation():
    img = make_image(1)
    m = parse_manifest(img.manifest, "img")
    assert isinstance(m, Manifest) and m.layers[0].digest == sha(img.layers[0])
    bad = json.loads(img.manifest)
    bad["layers"][0]["size"] = -1
    with pytest.raises(RegistryError, match="layer 0: descriptor size -1 is not"):
        parse_manifest(json.dumps(bad).encode(), "img")
    bad = json.loads(img.manifest)
    bad["layers"][0]["digest"] = "sha256:../../etc"
    with pytest.raises(RegistryError, match=r"layer 0: descriptor digest .* is not sha256"):
        parse_manifest(json.dumps(bad).encode(), "img")
    bad = json.loads(img.manifest)
    bad["schemaVersion"] = 1
    with pytest.raises(RegistryError, match="schemaVersion 1, expected 2"):
        parse_manifest(json.dumps(bad).encode(), "img")
    bad = json.loads(img.manifest)
    bad["config"]["mediaType"] = "application/vnd.cncf.helm.config.v1+json"
    with pytest.raises(RegistryError, match="not a container image"):
        parse_manifest(json.dumps(bad).encode(), "img")


def test_a_zstd_variant_is_preferred_for_the_same_platform():
    # containers/image writes the gzip entry first and marks the zstd one; the variant match
    # still comes first, and an annotation that is not "true" means nothing
    def entry(arch, variant=None, zstd=None):
        e = {"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 10,
             "digest": sha(f"{arch}{variant}{zstd}".encode()),
             "platform": {"os": "linux", "architecture": arch, **({"variant": variant} if variant else {})}}
        if zstd is not None:
            e["annotations"] = {"io.github.containers.compression.zstd": zstd}
        return e
    def pick(*entries, want=Platform("linux", "amd64")):
        raw = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                          "manifests": list(entries)}).encode()
        return select_platform(parse_manifest(raw, "img"), want, "img").digest
    gz, zs = entry("amd64"), entry("amd64", zstd="true")
    assert pick(gz, zs) == zs["digest"] and pick(zs, gz) == zs["digest"]
    assert pick(gz, entry("amd64", zstd="false")) == gz["digest"]
    assert pick(entry("arm64", zstd="true"), gz) == gz["digest"]
    v7, v6z = entry("arm", "v7"), entry("arm", "v6", zstd="true")
    assert pick(v6z, v7, want=Platform("linux", "arm", "v7")) == v7["digest"]
