"""`run` pulls a missing image as Docker does (`--pull missing`), from a real registry."""

import pytest

from tests.unit.registry.registry_server import RegistryServer


@pytest.fixture
def registry(tmp_path):
    srv = RegistryServer(tmp_path / "registry").start()
    yield srv
    srv.stop()
    srv.wipe()


def test_run_pulls_a_missing_image(sampan, registry, tmp_path, monkeypatch):
    monkeypatch.setenv("SAMPAN_CONFIG", str(tmp_path / "config.json"))
    ref = f"{registry.host}/team/box:1"
    sampan.ok("push", "-q", "busybox", ref)
    sampan.ok("rmi", "busybox")
    r = sampan("run", "--rm", ref, "echo", "pulled and ran")
    assert r.rc == 0 and r.out == "pulled and ran\n"
    assert f"Unable to find image '{ref}' locally" in r.err
    assert ref in sampan.ok("images", "--format", "{{.Repository}}:{{.Tag}}")
    # the pulled image's digest in its repository: `images --digests` and inspect, as Docker
    digest = sampan.ok("inspect", "-f", "{{index .RepoDigests 0}}", ref).strip()
    assert digest.startswith(f"{registry.host}/team/box@sha256:")
    row = next(l for l in sampan.ok("images", "--digests").splitlines() if l.startswith(f"{registry.host}/team/box "))
    assert row.split()[:3] == [f"{registry.host}/team/box", "1", digest.rpartition("@")[2]]
    # --pull never does not go to the registry
    sampan.ok("rmi", ref)
    r = sampan("run", "--rm", "--pull", "never", ref, "true")
    assert r.rc == 125 and "Unable to find" not in r.err


def test_build_pulls_a_missing_base_image(sampan, registry, tmp_path, monkeypatch):
    monkeypatch.setenv("SAMPAN_CONFIG", str(tmp_path / "config.json"))
    ref = f"{registry.host}/team/base:1"
    sampan.ok("push", "-q", "busybox", ref)
    sampan.ok("rmi", "busybox")
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(f"FROM {ref}\nRUN echo built > /f\nCMD [\"cat\", \"/f\"]\n")
    sampan.ok("build", "-q", "-t", "child", str(ctx))
    assert sampan.ok("run", "--rm", "--network", "none", "child") == "built\n"
    sampan.ok("rmi", "child", ref)
    r = sampan("build", "--pull", "never", "-t", "child", str(ctx))
    assert r.rc == 1 and "Dockerfile:1" in r.err
