"""pull against a fake registry: happy paths, platforms, and hostile servers refused
with nothing left in the store."""

import gzip
import io
import json

import pytest
import zstandard

from sampan.errors import DigestMismatch, ImageNotFound, RegistryError
from sampan.registry import pull
from sampan.registry.progress import PlainProgress
from tests.unit.registry.fakeregistry import FakeRegistry
from tests.unit.registry import images
from tests.unit.registry.images import make_image, make_index, promise_other_content, sha, two_platform_index


def assert_empty(store):
    assert store.blob_count() == 0
    assert store.images == {}
    assert not list(store.paths.tmp.glob("*")), "scratch files left behind"


def test_pull_tag_puts_all_blobs_and_tags(store):
    img = make_image(3)
    with FakeRegistry() as reg:
        reg.add_image("team/app", "v1", img)
        out = io.StringIO()
        info = pull(store, f"{reg.host}/team/app:v1", progress=PlainProgress(out))
    assert info.manifest_digest == img.digest
    assert f"{reg.host}/team/app:v1" in info.repo_tags
    for d, b in img.blobs().items():
        assert store.blob_path(d).read_bytes() == b
    assert "Pull complete" in out.getvalue() and img.digest in out.getvalue()


def _same_layers_other_config(img):
    config = json.loads(img.config)
    config["config"]["Cmd"] = ["/bin/true"]
    raw = json.dumps(config).encode()
    manifest = json.loads(img.manifest)
    manifest["config"].update(digest=sha(raw), size=len(raw))
    return images.TestImage(json.dumps(manifest).encode(), raw, img.layers, img.diff_ids)


def test_pull_skips_blobs_already_present(store):
    a = make_image(2, seed=b"same")
    with FakeRegistry() as reg:
        reg.add_image("x", "1", a)
        reg.add_image("y", "1", _same_layers_other_config(a))
        pull(store, f"{reg.host}/x:1", progress=False)
        reg.requests.clear()
        out = io.StringIO()
        pull(store, f"{reg.host}/x:1", progress=PlainProgress(out))
        # up to date: Docker prints no layer lines
        assert "Image is up to date" in out.getvalue() and "Already exists" not in out.getvalue()
        out = io.StringIO()
        pull(store, f"{reg.host}/y:1", progress=PlainProgress(out))   # another image, same layers
        assert out.getvalue().count("Already exists") == 2, out.getvalue()
        fetched = [p for m, p, _ in reg.requests if "/blobs/" in p and m == "GET"]
    layer_gets = [p for p in fetched if any(sha(l) in p for l in a.layers)]
    assert layer_gets == []


def test_pull_by_digest_and_docker_schema2_zstd(store):
    img = make_image(2, compress=lambda b: zstandard.ZstdCompressor().compress(b),
                     media_type="application/vnd.docker.distribution.manifest.v2+json",
                     layer_type="application/vnd.oci.image.layer.v1.tar+zstd")
    with FakeRegistry() as reg:
        reg.add_image("z", "t", img)
        info = pull(store, f"{reg.host}/z@{img.digest}", progress=False)
    assert info.manifest_digest == img.digest
    assert info.repo_tags == []


def test_index_selects_requested_platform(store):
    with FakeRegistry() as reg:
        amd, arm = two_platform_index(reg)
        info = pull(store, f"{reg.host}/m:multi", platform="linux/arm64", progress=False)
        assert info.manifest_digest == arm.digest
        with pytest.raises(RegistryError, match="no image for platform linux/s390x.*amd64"):
            pull(store, f"{reg.host}/m:multi", platform="linux/s390x", progress=False)


def test_an_index_with_a_zstd_variant_pulls_it_and_the_image_is_the_same(store):
    # containers/image's layout: the gzip entry first, the zstd one marked; same layers inside
    gz = make_image(2, seed=b"same")
    tars = [gzip.decompress(layer) for layer in gz.layers]
    zs = make_image(2, seed=b"same", layer_type="application/vnd.oci.image.layer.v1.tar+zstd")
    zs.layers = [zstandard.ZstdCompressor().compress(t) for t in tars]
    zs.config, zs.diff_ids = gz.config, gz.diff_ids
    zs.manifest = json.dumps({**json.loads(zs.manifest), "config": json.loads(gz.manifest)["config"],
                              "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+zstd",
                                          "digest": sha(b), "size": len(b)} for b in zs.layers]}).encode()
    index = json.loads(make_index([(gz, "amd64"), (zs, "amd64")]))
    index["manifests"][1]["annotations"] = {"io.github.containers.compression.zstd": "true"}
    with FakeRegistry() as reg:
        reg.add_image("v", gz.digest, gz)
        reg.add_image("v", zs.digest, zs)
        reg.add_manifest("v", "both", json.dumps(index).encode(), "application/vnd.oci.image.index.v1+json")
        info = pull(store, f"{reg.host}/v:both", platform="linux/amd64", progress=False)
        fetched = [p for m, p, _ in reg.requests if "/blobs/" in p and m == "GET"]
    assert info.manifest_digest == zs.digest
    assert not any(sha(layer) in p for layer in gz.layers for p in fetched)  # no gzip layer came
    assert info.id == sha(gz.config)  # the config, so the image, is the gzip one's


@pytest.mark.parametrize("attack", ["tampered", "longer", "cut_short", "shorter_decl", "diff_id", "manifest_header",
                                    "bad_json", "media_type", "huge_manifest", "bomb", "not_gzip"])
def test_hostile_registry_refused_and_store_untouched(store, attack, monkeypatch):
    img = make_image(2)
    layer = sha(img.layers[1])
    if attack == "diff_id":
        promise_other_content(img, 1)
    if attack == "shorter_decl":   # manifest says fewer bytes than the blob has
        m = json.loads(img.manifest)
        m["layers"][1]["size"] -= 10
        img.manifest = json.dumps(m).encode()
    if attack == "bomb":
        monkeypatch.setenv("SAMPAN_MAX_LAYER_SIZE", "1000000")
        big = gzip.compress(b"\0" * 20_000_000)
        img.layers[1] = big
        m = json.loads(img.manifest)
        m["layers"][1].update(digest=sha(big), size=len(big))
        img.manifest = json.dumps(m).encode()
        layer = sha(big)
    with FakeRegistry() as reg:
        reg.add_image("h", "t", img)
        ref = f"{reg.host}/h:t"
        if attack == "tampered":
            reg.blob_override[layer] = img.layers[1][:-1] + b"X"
        elif attack == "cut_short":   # declares the right length, sends less, hangs up
            reg.blob_override[layer] = img.layers[1][:100]
            reg.length_override[layer] = len(img.layers[1])
        elif attack == "longer":
            reg.blob_override[layer] = img.layers[1] + b"extra bytes"
        elif attack == "manifest_header":
            reg.manifest_digest_header = sha(b"not it")
        elif attack == "bad_json":
            reg.add_manifest("h", "t", b"{not json", "application/vnd.oci.image.manifest.v1+json")
        elif attack == "media_type":
            m = json.loads(img.manifest)
            m["layers"][0]["mediaType"] = "application/x-evil"
            reg.add_manifest("h", "t", json.dumps(m).encode(), m["mediaType"])
        elif attack == "huge_manifest":
            m = json.loads(img.manifest)
            m["annotations"] = {"pad": "x" * (5 << 20)}
            reg.add_manifest("h", "t", json.dumps(m).encode(), m["mediaType"])
        elif attack == "not_gzip":
            pass
        with pytest.raises((DigestMismatch, RegistryError)) as e:
            if attack == "not_gzip":
                bad = b"\x1f\x8b" + b"garbage" * 100
                m = json.loads(img.manifest)
                m["layers"][1].update(digest=sha(bad), size=len(bad))
                reg.blobs[sha(bad)] = bad
                reg.repo_blobs["h"].add(sha(bad))
                reg.add_manifest("h", "t", json.dumps(m).encode(), m["mediaType"])
            pull(store, ref, progress=False)
    msg = str(e.value)
    assert "h:t" in msg and "\n" not in msg
    assert_empty(store)


def test_registry_errors_are_one_clear_line(store):
    with FakeRegistry() as reg:
        with pytest.raises(ImageNotFound, match=r"nothere:latest: not found on 127\.0\.0\.1"):
            pull(store, f"{reg.host}/nothere", progress=False)
        reg.add_image("busy", "t", make_image(1))
        reg.status_override.append((r"/manifests/", 429, {"Retry-After": "3600"}))
        with pytest.raises(RegistryError, match=r"busy:t: .*429.*retry after 3600"):
            pull(store, f"{reg.host}/busy:t", progress=False)
    with pytest.raises(RegistryError, match="cannot reach registry"):
        pull(store, f"{reg.host}/busy:t", progress=False)    # server is gone now
    assert_empty(store)


def test_basic_auth_required_without_login(store):
    with FakeRegistry(auth="basic") as reg:
        reg.add_image("priv", "t", make_image(1))
        with pytest.raises(RegistryError, match=r"priv:t: authentication required.*sampan login"):
            pull(store, f"{reg.host}/priv:t", progress=False)
    assert_empty(store)


class InterruptingProgress(PlainProgress):
    """Simulates Ctrl-C arriving in the middle of a layer download."""

    def advance(self, key, n):
        raise KeyboardInterrupt


def test_interrupted_pull_leaves_store_as_it_was(store):
    with FakeRegistry() as reg:
        reg.add_image("i", "t", make_image(3))
        with pytest.raises(KeyboardInterrupt):
            pull(store, f"{reg.host}/i:t", progress=InterruptingProgress(io.StringIO()))
    assert_empty(store)
