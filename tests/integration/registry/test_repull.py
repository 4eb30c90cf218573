"""A re-pull of a known image against the real docker-registry: one manifest request for
the tag (as Docker asks), nothing downloaded when it has not moved, the new image when it
has; the answer comes without httpx (registry/transport.py's stdlib path)."""

import io
import secrets
import subprocess
import time

import pytest

from sampan.errors import RegistryError
from sampan.registry import login, pull, push
from sampan.registry.progress import PlainProgress
from tests.support.cli import Sampan
from tests.support.net import free_port
from tests.unit.registry.fakeregistry import FakeRegistry
from tests.unit.registry.images import two_platform_index


def _blob_gets(reqs):
    return [(m, p) for m, p, _ in reqs if m == "GET" and "/blobs/" in p]


@pytest.fixture
def pusher(state_dirs, busybox_tar, registry):
    root, runroot = state_dirs
    s = Sampan(root, runroot)
    name = f"{registry.host}/repull/bb-{secrets.token_hex(4)}"
    s.ok("import", str(busybox_tar), f"{name}:1")
    s.ok("push", f"{name}:1", timeout=120)
    s.name = name
    return s


def test_repull_of_a_known_image_asks_for_the_manifest_only(pusher, registry, tmp_path):
    name = pusher.name
    puller = Sampan(tmp_path / "root", tmp_path / "run")
    first = puller("pull", f"{name}:1", timeout=120)
    assert first.rc == 0 and "Status: Downloaded newer image" in first.out, first.err
    before = len(registry.requests())
    r = puller("pull", f"{name}:1")
    assert r.rc == 0, r.err
    lines = r.out.splitlines()
    assert lines[0] == f"1: Pulling from {name}"
    assert lines[-3].startswith("Digest: sha256:")
    assert lines[-2:] == [f"Status: Image is up to date for {name}:1", f"{name}:1"]
    asked = registry.requests()[before:]
    assert [(m, p) for m, p, _ in asked] == [("GET", "/v2/"), ("GET", f"/v2/{name.split('/', 1)[1]}/manifests/1")]
    digest = lines[-3].removeprefix("Digest: ")
    assert puller.ok("inspect", "--format", "{{.RepoDigests}}", f"{name}:1").strip() == f"[{name}@{digest}]"


def test_repull_imports_no_httpx(pusher, tmp_path):
    puller = Sampan(tmp_path / "root", tmp_path / "run")
    puller.ok("pull", "-q", f"{pusher.name}:1", timeout=120)
    argv = puller.argv("pull", "-q", f"{pusher.name}:1")
    # -X importtime: every module the command imported, on stderr
    p = subprocess.run([argv[0], "-X", "importtime", *argv[1:]], capture_output=True, text=True,
                       env=puller.env(), timeout=60)
    assert p.returncode == 0, p.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in p.stderr.splitlines() if "|" in line}
    assert "sampan.registry.transport" in imported and "httpx" not in imported


def test_a_moved_tag_pulls_the_new_image(pusher, registry, busybox_tar, tmp_path):
    name = pusher.name
    puller = Sampan(tmp_path / "root", tmp_path / "run")
    puller.ok("pull", "-q", f"{name}:1", timeout=120)
    old_id = puller.ok("inspect", "--format", "{{.Id}}", f"{name}:1").strip()
    # the tag moves to another image (another config: a label)
    pusher.ok("import", "--change", "LABEL moved=yes", str(busybox_tar), f"{name}:1")
    pusher.ok("push", f"{name}:1", timeout=120)
    new_id = pusher.ok("inspect", "--format", "{{.Id}}", f"{name}:1").strip()
    assert new_id != old_id
    before = len(registry.requests())
    r = puller("pull", f"{name}:1", timeout=120)
    assert r.rc == 0 and "Status: Downloaded newer image for" in r.out, (r.out, r.err)
    assert puller.ok("inspect", "--format", "{{.Id}}", f"{name}:1").strip() == new_id
    assert puller.ok("inspect", "--format", "{{index .Config.Labels \"moved\"}}", f"{name}:1").strip() == "yes"
    # the layer is the same busybox: only the new config blob is downloaded
    assert len(_blob_gets(registry.requests()[before:])) == 1
    # and once more: up to date, nothing downloaded
    before = len(registry.requests())
    assert "Image is up to date" in puller.ok("pull", f"{name}:1")
    assert _blob_gets(registry.requests()[before:]) == []


def test_repull_with_the_registry_down_is_one_line_and_exit_1(pusher, tmp_path):
    puller = Sampan(tmp_path / "root", tmp_path / "run")
    puller.ok("pull", "-q", f"{pusher.name}:1", timeout=120)
    dead = f"127.0.0.1:{free_port()}"
    puller.ok("tag", f"{pusher.name}:1", f"{dead}/repull/bb:1")
    r = puller("pull", f"{dead}/repull/bb:1")
    # Docker: 'Error response from daemon: Get "http://HOST/v2/": dial tcp HOST: connect:
    # connection refused', exit 1
    assert r.rc == 1
    assert r.err.count("\n") == 1 and "Traceback" not in r.err
    assert f"cannot reach registry {dead}" in r.err and "refused" in r.err


def test_repull_through_token_auth(token_registry, busybox_stores, tmp_path):
    """401 + Bearer challenge on the manifest: the token comes over the light transport too."""
    a, b = busybox_stores
    ref = f"{token_registry.host}/tok/repull-{secrets.token_hex(4)}:1"
    login(token_registry.host, "alice", "s3cret")
    push(a, "busybox:latest", ref, progress=False)
    pull(b, ref, progress=False)
    asked = len(token_registry.tokens.requests)
    before = len(token_registry.requests())
    info = pull(b, ref, progress=False)
    assert info.id == a.resolve("busybox").id
    assert len(token_registry.tokens.requests) == asked + 1          # one token for the manifest
    statuses = [(m, s) for m, p, s in token_registry.requests()[before:] if "/manifests/" in p]
    assert statuses == [("GET", 401), ("GET", 200)]
    # a wrong password: the token server refuses, one clear line
    with pytest.raises(RegistryError, match="wrong username or password"):
        pull(b, ref, progress=False, auth=("alice", "wrong"))


def test_repull_through_the_zygote(pusher, tmp_path):
    """The zygote preloads pull's modules: two pulls in a row through it (each a fresh worker)."""
    z = Sampan(tmp_path / "root", tmp_path / "run", zygote=True)
    try:
        z.ok("pull", "-q", f"{pusher.name}:1", timeout=120)   # in-process; starts a zygote
        deadline = time.monotonic() + 20
        while not (z.runroot / "zygote.sock").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        for _ in range(2):
            r = z("pull", f"{pusher.name}:1")
            assert r.rc == 0 and f"Status: Image is up to date for {pusher.name}:1" in r.out, r.err
        r = z("pull", "127.0.0.1:1/nope:1")
        assert r.rc == 1 and r.err.count("\n") == 1
    finally:
        from tests.support.leaks import processes_with
        deadline = time.monotonic() + 10
        while processes_with(f"sampan.cli.zygote {z.runroot}") and time.monotonic() < deadline:
            z("system", "zygote", "stop")
            time.sleep(0.2)


def test_repull_keeps_to_the_platform(two_stores):
    """From an index: a re-pull for the same platform downloads nothing; another platform's
    image is pulled and the tag moves to it (Docker's --platform)."""
    store, _ = two_stores
    with FakeRegistry() as reg:
        amd, arm = two_platform_index(reg)
        ref = f"{reg.host}/m:multi"
        pull(store, ref, platform="linux/arm64", progress=False)
        reg.requests.clear()
        out = io.StringIO()
        info = pull(store, ref, platform="linux/arm64", progress=PlainProgress(out))
        assert info.manifest_digest == arm.digest and "Image is up to date" in out.getvalue()
        assert [p for m, p, _ in reg.requests if "/blobs/" in p] == []
        assert [p for m, p, _ in reg.requests if "/manifests/" in p] == ["/v2/m/manifests/multi",
                                                                          f"/v2/m/manifests/{arm.digest}"]
        out = io.StringIO()
        info = pull(store, ref, platform="linux/amd64", progress=PlainProgress(out))
        assert info.manifest_digest == amd.digest and "Downloaded newer image" in out.getvalue()
        assert store.resolve(ref).id == info.id


def test_the_zygotes_ca_context_follows_the_callers_trust(tls_registry, busybox_stores, tmp_path, monkeypatch):
    """tls.warm_system_cas (the zygote's): a caller whose SSL_CERT_FILE names other CAs than
    the warm context holds is verified with its own, both ways."""
    from sampan.registry import tls
    a, b = busybox_stores
    monkeypatch.setattr(tls, "_warm", None)
    monkeypatch.setenv("SAMPAN_CERTS_D", str(tmp_path / "none"))
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_registry.cert))
    ref = f"{tls_registry.host}/tls/repull-{secrets.token_hex(4)}:1"
    push(a, "busybox:latest", ref, progress=False)
    tls.warm_system_cas()                       # trusts the registry's CA only
    assert tls.ssl_context(tls_registry.host, True) is tls._warm[1]
    pull(b, ref, progress=False)
    assert "Image is up to date" in _pull_output(b, ref)
    monkeypatch.delenv("SSL_CERT_FILE")         # the system's CAs: this registry is unknown
    with pytest.raises(RegistryError, match="certificate verify failed"):
        pull(b, ref, progress=False)
    tls.warm_system_cas()                       # warm with the system's CAs ...
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_registry.cert))   # ... a caller trusting the registry
    assert "Image is up to date" in _pull_output(b, ref)


def _pull_output(store, ref):
    out = io.StringIO()
    pull(store, ref, progress=PlainProgress(out))
    return out.getvalue()
