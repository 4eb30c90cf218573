"""`manifest inspect [--verbose]` against a real registry (Debian's distribution), checked
byte for byte against the docker CLIs' own `docker manifest inspect` (it reads the registry
itself, no daemon), for an image manifest and for an index; and a hostile registry's
answers refused."""

import hashlib
import json
import os
import secrets
import subprocess
import urllib.request

import pytest

from tests.support.api import docker_clis
from tests.support.cli import Sampan


def _put(registry, repo: str, ref: str, body: bytes, media_type: str) -> str:
    req = urllib.request.Request(f"http://{registry.host}/v2/{repo}/manifests/{ref}", data=body, method="PUT",
                                 headers={"Content-Type": media_type})
    with urllib.request.urlopen(req, timeout=30) as r:
        assert r.status == 201
    return "sha256:" + hashlib.sha256(body).hexdigest()


def _get(registry, repo: str, ref: str) -> bytes:
    req = urllib.request.Request(f"http://{registry.host}/v2/{repo}/manifests/{ref}", headers={
        "Accept": "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.read()


@pytest.fixture
def pushed(registry, state_dirs, busybox_tar, tmp_path):
    """An image pushed by sampan, and an index (two platforms) listing its manifest."""
    s = Sampan(*state_dirs)
    path = f"sampan/mi-{secrets.token_hex(4)}"
    name = f"{registry.host}/{path}"
    s.ok("import", str(busybox_tar), f"{name}:1")
    s.ok("push", "--tls-verify=false", f"{name}:1", timeout=120)
    raw = _get(registry, path, "1")
    entry = {"mediaType": json.loads(raw)["mediaType"], "size": len(raw),
             "digest": "sha256:" + hashlib.sha256(raw).hexdigest()}
    index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [
        dict(entry, platform={"architecture": "amd64", "os": "linux"}),
        dict(entry, platform={"architecture": "arm", "os": "linux", "variant": "v7"})]}).encode()
    _put(registry, path, "multi", index, "application/vnd.oci.image.index.v1+json")
    s.name, s.path, s.raw = name, path, raw
    yield s
    s.cleanup()


# Debian's docker 20.10 reads no OCI manifest (its distribution library predates them): 28 only
@pytest.mark.parametrize("cli", [c for c in docker_clis() if c.startswith("/usr/local/")])
@pytest.mark.parametrize("tag", ["1", "multi"])
@pytest.mark.parametrize("verbose", [False, True], ids=["plain", "verbose"])
def test_manifest_inspect_prints_what_docker_prints(pushed, tmp_path, cli, tag, verbose):
    argv = ["manifest", "inspect", "--insecure"] + (["-v"] if verbose else []) + [f"{pushed.name}:{tag}"]
    env = dict(os.environ, DOCKER_CONFIG=str(tmp_path / "dockercfg"))
    docker = subprocess.run([cli, *argv], capture_output=True, text=True, env=env, timeout=60)
    assert docker.returncode == 0, docker.stderr
    assert pushed.ok(*argv) == docker.stdout


def test_manifest_inspect_plain_is_the_registrys_bytes(pushed):
    out = pushed.ok("manifest", "inspect", f"{pushed.name}:1")
    assert json.loads(out) == json.loads(pushed.raw) and out.startswith("{\n\t\"")
    listed = json.loads(pushed.ok("manifest", "inspect", f"{pushed.name}:multi"))
    assert [m["platform"] for m in listed["manifests"]] == [
        {"architecture": "amd64", "os": "linux"}, {"architecture": "arm", "os": "linux", "variant": "v7"}]
    r = pushed("manifest", "inspect", f"{pushed.name}:nope")
    assert r.rc == 1 and r.err.strip().endswith(f"no such manifest: {pushed.name}:nope"), r


def test_a_hostile_index_is_refused(pushed, registry):
    """An index entry whose size lies, and an index listing an index: refused, one line."""
    raw = pushed.raw
    digest = "sha256:" + hashlib.sha256(raw).hexdigest()
    media = json.loads(raw)["mediaType"]
    lying = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                        "manifests": [{"mediaType": media, "size": len(raw) + 1, "digest": digest,
                                       "platform": {"architecture": "amd64", "os": "linux"}}]}).encode()
    _put(registry, pushed.path, "lying", lying, "application/vnd.oci.image.index.v1+json")
    r = pushed("manifest", "inspect", f"{pushed.name}:lying")
    assert r.rc != 0 and "its index says; refused" in r.err and "Traceback" not in r.err, r
    inner = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                        "manifests": [{"mediaType": media, "size": len(raw), "digest": digest}]}).encode()
    inner_digest = _put(registry, pushed.path, "inner", inner, "application/vnd.oci.image.index.v1+json")
    nested = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                         "manifests": [{"mediaType": "application/vnd.oci.image.index.v1+json",
                                        "size": len(inner), "digest": inner_digest}]}).encode()
    _put(registry, pushed.path, "nested", nested, "application/vnd.oci.image.index.v1+json")
    r = pushed("manifest", "inspect", f"{pushed.name}:nested")
    assert r.rc != 0 and "an index within an index" in r.err and len(r.err.splitlines()) == 1, r


def test_manifest_create_annotate_push_rm(pushed, registry, busybox_tar, tmp_path):
    s = pushed
    other = f"{registry.host}/sampan/mi-other-{secrets.token_hex(4)}"
    s.ok("import", "--change", "ENV SECOND=1", str(busybox_tar), f"{other}:2")
    s.ok("push", "--tls-verify=false", f"{other}:2", timeout=120)
    listed = f"{s.name}:combined"
    assert s.ok("manifest", "create", listed, f"{s.name}:1", f"{other}:2") == f"Created manifest list {listed}\n"
    r = s("manifest", "create", listed, f"{s.name}:1")
    assert r.rc == 125 and "refusing to amend an existing manifest list with no --amend flag" in r.err
    s.ok("manifest", "annotate", "--arch", "arm64", "--variant", "v8", listed, f"{other}:2")
    r = s("manifest", "annotate", "--arch", "arm64", listed, f"{s.name}:nope")
    assert r.rc == 1 and f"No such manifest: {s.name}:nope" in r.err
    digest = s.ok("manifest", "push", "--purge", listed).strip()
    assert digest.startswith("sha256:") and len(digest) == 71
    # what the registry now holds, as docker 28 reads it and as sampan does
    out = json.loads(s.ok("manifest", "inspect", listed))
    platforms = [m["platform"] for m in out["manifests"]]
    assert platforms == [{"architecture": "amd64", "os": "linux"},
                         {"architecture": "arm64", "os": "linux", "variant": "v8"}]
    docker = [c for c in docker_clis() if c.startswith("/usr/local/")]
    if docker:
        env = dict(os.environ, DOCKER_CONFIG=str(tmp_path / "dockercfg"))
        p = subprocess.run([docker[0], "manifest", "inspect", "--insecure", listed], capture_output=True,
                           text=True, env=env, timeout=60)
        assert p.returncode == 0 and json.loads(p.stdout) == out, p.stderr
    # the pushed bytes are the ones whose digest was printed
    assert "sha256:" + hashlib.sha256(_get_index(registry, s.path, "combined")).hexdigest() == digest
    # --purge removed the local list; rm of a missing one says so, exit 1
    r = s("manifest", "rm", listed)
    assert r.rc == 1 and f"No such manifest: {listed}" in r.err
    s.ok("manifest", "create", listed, f"{s.name}:1")
    assert s("manifest", "rm", listed).rc == 0


def test_manifest_push_refuses_another_registry(pushed, registry):
    s = pushed
    s.ok("manifest", "create", "127.0.0.2:1/elsewhere/list:1", f"{s.name}:1")
    r = s("manifest", "push", "127.0.0.2:1/elsewhere/list:1")
    assert r.rc == 125 and "cannot use source images from a different registry than the target image" in r.err
    s.ok("manifest", "rm", "127.0.0.2:1/elsewhere/list:1")


def _get_index(registry, repo: str, ref: str) -> bytes:
    req = urllib.request.Request(f"http://{registry.host}/v2/{repo}/manifests/{ref}", headers={
        "Accept": "application/vnd.oci.image.index.v1+json, "
                  "application/vnd.docker.distribution.manifest.list.v2+json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.read()
