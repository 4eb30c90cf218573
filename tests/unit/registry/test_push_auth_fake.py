"""push and login against a fake registry: Bearer token flow with scopes, Basic auth,
HEAD skips, cross-repository mounts, credentials file format."""

import base64
import json
import os
import stat

import pytest

from sampan.errors import RegistryError
from sampan.registry import login, logout, pull, push
from tests.unit.registry.fakeregistry import FakeRegistry
from tests.unit.registry.fakestore import FakeStore
from tests.unit.registry.images import make_image, put_image, sha


def test_login_writes_docker_format_0600_and_logout_removes(private_config):
    with FakeRegistry(auth="bearer") as reg:
        login(reg.host, "alice", "s3cret")
        assert reg.token_requests, "login must go through the token server"
        with pytest.raises(RegistryError, match="authentication to .* failed"):
            login(reg.host, "alice", "wrong")
    data = json.loads(private_config.read_text())
    assert base64.b64decode(data["auths"][reg.host]["auth"]) == b"alice:s3cret"
    assert stat.S_IMODE(os.stat(private_config).st_mode) == 0o600
    assert logout(reg.host) is True
    assert reg.host not in json.loads(private_config.read_text())["auths"]
    assert logout(reg.host) is False


def test_docker_config_is_read_as_fallback(tmp_path, monkeypatch, store):
    with FakeRegistry(auth="basic") as reg:
        (tmp_path / "dockercfg").mkdir()
        auth = base64.b64encode(b"alice:s3cret").decode()
        (tmp_path / "dockercfg" / "config.json").write_text(json.dumps({"auths": {reg.host: {"auth": auth}}}))
        img = make_image(1)
        reg.add_image("p", "t", img)
        assert pull(store, f"{reg.host}/p:t", progress=False).manifest_digest == img.digest
        assert all(a == "Basic" for m, p, a in reg.requests if p.startswith("/v2/p/"))


def test_bearer_push_then_pull_roundtrip_with_scopes(tmp_path, store):
    img = make_image(2)
    put_image(store, img, "127.0.0.1/src/app:1")
    with FakeRegistry(auth="bearer") as reg:
        with pytest.raises(RegistryError, match=r"team/app:1: authentication required"):
            push(store, "127.0.0.1/src/app:1", f"{reg.host}/team/app:1", progress=False)
        login(reg.host, "alice", "s3cret")
        digest = push(store, "127.0.0.1/src/app:1", f"{reg.host}/team/app:1", progress=False)
        assert digest == img.digest
        assert reg.manifests[("team/app", "1")][0] == img.manifest
        scopes = [s for q in reg.token_requests for s in q.get("scope", [])]
        assert "repository:team/app:pull,push" in scopes
        other = FakeStore(tmp_path / "other")
        info = pull(other, f"{reg.host}/team/app:1", progress=False)
        assert info.manifest_digest == img.digest
        for d, b in img.blobs().items():
            assert other.blob_path(d).read_bytes() == b


def test_push_skips_existing_blobs_and_mounts_across_repos(store):
    img = make_image(2)
    with FakeRegistry() as reg:
        put_image(store, img, f"{reg.host}/first/app:1")
        push(store, f"{reg.host}/first/app:1", progress=False)
        uploads_first = [p for m, p, _ in reg.requests if m == "PUT" and "/blobs/uploads/" in p]
        assert len(uploads_first) == 3            # 2 layers + config
        reg.requests.clear()
        push(store, f"{reg.host}/first/app:1", progress=False)
        assert not [p for m, p, _ in reg.requests if m in ("PUT", "POST") and "/blobs/" in p]
        reg.requests.clear()
        push(store, f"{reg.host}/first/app:1", f"{reg.host}/second/app:1", progress=False)
        posts = [p for m, p, _ in reg.requests if m == "POST"]
        assert posts and all("mount=" in p and "from=first/app" in p for p in posts)
        assert not [p for m, p, _ in reg.requests if m == "PUT" and "/blobs/" in p]
        assert reg.manifests[("second/app", "1")][0] == img.manifest


def test_push_refuses_digest_destination(store):
    img = make_image(1)
    put_image(store, img, "127.0.0.1/a:1")
    with pytest.raises(Exception, match="digest reference"):
        push(store, "127.0.0.1/a:1", f"127.0.0.1/a@{sha(b'x')}", progress=False)


def test_push_by_id_needs_a_destination(store):
    img = make_image(1)
    info = put_image(store, img, "127.0.0.1/a:1")
    with pytest.raises(Exception, match="not a tag of the image"):
        push(store, info.id, progress=False)
