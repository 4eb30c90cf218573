"""Registry client rules: schemes, Hub names, retries, redirects, progress, rollback."""

import io

import pytest
from hypothesis import given, strategies as st

from sampan.errors import RegistryError
from sampan.registry import credentials, names, pull
from sampan.registry.challenge import parse_challenges
from sampan.registry.client import RegistryClient
from sampan.registry.progress import PlainProgress, RichProgress, SilentProgress, make_progress
from tests.unit.registry.fakeregistry import FakeRegistry
from tests.unit.registry.images import make_image, sha


def test_docker_hub_names():
    assert names.api_host("docker.io") == "registry-1.docker.io"
    assert names.auth_key("docker.io") == "https://index.docker.io/v1/"
    assert names.normalize_login_target(None) == "docker.io"
    assert names.normalize_login_target("https://index.docker.io/v1/") == "docker.io"
    assert names.normalize_login_target("http://127.0.0.1:5000/") == "127.0.0.1:5000"
    assert RegistryClient("docker.io", "busybox").host == "registry-1.docker.io"


def test_hub_credentials_stored_under_dockers_key(private_config):
    credentials.store_credentials("docker.io", "bob", "pw")
    assert "https://index.docker.io/v1/" in private_config.read_text()
    assert credentials.get_credentials("docker.io") == ("bob", "pw")


def test_plain_http_only_for_loopback_insecure_or_tls_verify_false(monkeypatch):
    assert RegistryClient("127.0.0.1:5000", "x")._schemes == ["https", "http"]
    assert RegistryClient("localhost:5000", "x")._schemes == ["https", "http"]
    assert RegistryClient("[::1]:5000", "x")._schemes == ["https", "http"]
    assert RegistryClient("reg.example.com:5000", "x")._schemes == ["https"]
    assert RegistryClient("reg.example.com", "x", tls_verify=False)._schemes == ["https", "http"]
    monkeypatch.setenv("SAMPAN_INSECURE_REGISTRIES", "reg.example.com:5000")
    assert RegistryClient("reg.example.com:5000", "x")._schemes == ["https", "http"]


def test_challenge_parsing_quoted_commas_and_multiple():
    [c] = parse_challenges('Bearer realm="https://a/t",service="s",scope="repository:x:pull,push"')
    assert c.params["scope"] == "repository:x:pull,push"
    cs = parse_challenges('Basic realm="r", Bearer realm="https://a/t"')
    assert [c.scheme for c in cs] == ["basic", "bearer"]
    assert parse_challenges("") == []


@given(st.text(max_size=200))
def test_challenge_parser_never_raises(header):
    parse_challenges(header)


def test_429_with_short_retry_after_is_retried(store):
    img = make_image(1)
    with FakeRegistry() as reg:
        reg.add_image("r", "t", img)
        reg.status_override.append([r"/manifests/", 429, {"Retry-After": "0"}, 2])
        assert pull(store, f"{reg.host}/r:t", progress=False).manifest_digest == img.digest


def test_blob_redirect_to_other_host_drops_credentials(store):
    img = make_image(1)
    layer = sha(img.layers[0])
    with FakeRegistry(auth="bearer") as reg, FakeRegistry() as cdn:
        reg.add_image("r", "t", img)
        cdn.add_image("r", "t", img)
        reg.redirect[layer] = f"http://localhost:{cdn.port}/v2/r/blobs/{layer}"
        assert pull(store, f"{reg.host}/r:t", progress=False).manifest_digest == img.digest
        cdn_hits = [r for r in cdn.requests if layer in r[1]]
        assert cdn_hits and all(auth == "" for _, _, auth in cdn_hits)


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


def test_progress_choice_and_rich_output(store):
    assert isinstance(make_progress(False), SilentProgress)
    assert isinstance(make_progress(None, io.StringIO()), PlainProgress)
    tty = FakeTTY()
    p = make_progress(None, tty)
    assert isinstance(p, RichProgress)
    img = make_image(2)
    with FakeRegistry() as reg:
        reg.add_image("p", "t", img)
        pull(store, f"{reg.host}/p:t", progress=p)
    out = tty.getvalue()
    assert sha(img.layers[0])[7:19] in out and "Pull complete" in out


def test_failed_registration_rolls_back_blobs(store, monkeypatch):
    img = make_image(2)

    def boom(*a, **k):
        raise RegistryError("simulated failure while recording")
    monkeypatch.setattr(store, "register_manifest", boom)
    with FakeRegistry() as reg:
        reg.add_image("f", "t", img)
        with pytest.raises(RegistryError, match="simulated"):
            pull(store, f"{reg.host}/f:t", progress=False)
    assert store.blob_count() == 0
