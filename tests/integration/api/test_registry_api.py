"""Registries through the Engine API: docker login / push / pull against a local
docker-registry with htpasswd auth, images moving between the docker CLI (through the
service) and sampan's own CLI, docker-py; credentials used per call and kept nowhere."""

from __future__ import annotations

import base64
import json

import pytest

from tests.support.api import docker_clis, request
from tests.unit.registry.registry_server import RegistryServer

USER, PASSWORD = "alice", "s3cret"


@pytest.fixture(scope="module")
def auth_registry(tmp_path_factory):
    srv = RegistryServer(tmp_path_factory.mktemp("apireg"), users={USER: PASSWORD}).start()
    yield srv
    srv.stop()
    srv.wipe()


@pytest.fixture(autouse=True)
def private_config(tmp_path, monkeypatch):
    """The service and sampan's CLI keep (and look for) logins here, not in $HOME."""
    path = tmp_path / "sampan-cfg" / "config.json"
    monkeypatch.setenv("SAMPAN_CONFIG", str(path))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "service-docker-cfg"))
    return path


def _login(service, registry, cli: str = "docker", password: str = PASSWORD):
    return service.docker("login", registry.host, "-u", USER, "--password-stdin", cli=cli,
                          input=password.encode())


@pytest.mark.parametrize("cli", docker_clis())
def test_login_push_pull_through_the_service(service, auth_registry, private_config, cli):
    name = f"{auth_registry.host}/team/box-{cli.split('/')[2]}:1"
    assert service.docker("tag", "busybox", name, cli=cli).rc == 0
    # anonymous: the registry refuses, in one line
    r = service.docker("push", name, cli=cli)
    assert r.rc != 0 and "authentication" in r.err, (r.out, r.err)
    r = _login(service, auth_registry, cli, "wrong")
    assert r.rc != 0 and "wrong username or password" in r.err, r.err
    r = _login(service, auth_registry, cli)
    assert r.rc == 0 and "Login Succeeded" in r.out, r.err
    assert not private_config.exists()  # the client keeps its login; the service kept nothing
    r = service.docker("push", name, cli=cli, timeout=120)
    assert r.rc == 0 and "digest: sha256:" in r.out, (r.out, r.err)
    assert service.docker("rmi", name, cli=cli).rc == 0
    r = service.docker("pull", name, cli=cli, timeout=120)
    assert r.rc == 0 and "Pulling from" in r.out and "Digest: sha256:" in r.out, (r.out, r.err)
    assert name.split("/", 1)[1].split(":")[0] in service.cli.ok("images")
    assert not private_config.exists()
    log = service.log.read_text()
    assert PASSWORD not in log and base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode() not in log


def test_images_move_between_the_docker_cli_and_sampans_own(service, auth_registry, private_config):
    pushed_by_docker = f"{auth_registry.host}/team/from-docker:1"
    assert _login(service, auth_registry).rc == 0
    assert service.docker("tag", "busybox", pushed_by_docker).rc == 0
    assert service.docker("push", pushed_by_docker, timeout=120).rc == 0
    # sampan's CLI (its own login) pulls what docker pushed, and pushes for docker to pull
    service.cli.ok("login", auth_registry.host, "-u", USER, "--password-stdin", input=PASSWORD.encode())
    service.cli.ok("rmi", pushed_by_docker)
    service.cli.ok("pull", pushed_by_docker, timeout=120)
    assert "from-docker" in service.cli.ok("run", "--rm", pushed_by_docker, "sh", "-c", "echo from-docker")
    pushed_by_sampan = f"{auth_registry.host}/team/from-sampan:2"
    service.cli.ok("tag", "busybox", pushed_by_sampan)
    service.cli.ok("push", pushed_by_sampan, timeout=120)
    service.cli.ok("rmi", pushed_by_sampan)
    r = service.docker("pull", pushed_by_sampan, timeout=120)
    assert r.rc == 0, (r.out, r.err)
    assert "from-sampan" in service.cli.ok("images")


def test_docker_py_login_push_pull(service, auth_registry):
    client = service.client()
    repo = f"{auth_registry.host}/team/py"
    try:
        assert client.login(USER, PASSWORD, registry=auth_registry.host)["Status"] == "Login Succeeded"
        client.images.get("busybox").tag(repo, "3")
        auth = {"username": USER, "password": PASSWORD}
        lines = list(client.images.push(repo, "3", auth_config=auth, stream=True, decode=True))
        assert not [m for m in lines if "error" in m], lines
        assert any(m.get("aux", {}).get("Digest", "").startswith("sha256:") for m in lines)
        assert any(m.get("status") == "Pushed" or "already exists" in m.get("status", "") for m in lines)
        client.images.remove(f"{repo}:3")
        image = client.images.pull(repo, "3", auth_config=auth)
        assert f"{repo}:3" in image.tags
    finally:
        client.close()


def test_malformed_registry_auth_is_a_400(service, auth_registry):
    for header in ("%%%not-base64%%%", base64.urlsafe_b64encode(b"[1, 2]").decode(),
                   base64.urlsafe_b64encode(b'{"username": 5, "password": "x"}').decode(),
                   base64.urlsafe_b64encode(b"not json").decode()):
        status, _, body = request(service, "POST", f"/images/create?fromImage={auth_registry.host}/x&tag=1",
                            headers={"X-Registry-Auth": header})
        assert status == 400, (header, body)
        assert "X-Registry-Auth" in json.loads(body)["message"]
    status, _, body = request(service, "POST", "/auth", b"[]", {"Content-Type": "application/json"})
    assert status == 400, body
    status, _, body = request(service, "POST", "/images/create?fromImage=bad..name&tag=1")
    assert 400 <= status < 500, body


@pytest.fixture(scope="module")
def tls_auth_registry(tmp_path_factory):
    srv = RegistryServer(tmp_path_factory.mktemp("apitlsreg"), users={USER: PASSWORD}, tls=True).start()
    yield srv
    srv.stop()
    srv.wipe()


@pytest.fixture
def trusted(tls_auth_registry, tmp_path, monkeypatch):
    """The registry's CA in a certs.d the service (started after this) reads."""
    import shutil
    certs_d = tmp_path / "certs.d"
    (certs_d / tls_auth_registry.host).mkdir(parents=True)
    shutil.copy(tls_auth_registry.cert, certs_d / tls_auth_registry.host / "ca.crt")
    monkeypatch.setenv("SAMPAN_CERTS_D", str(certs_d))
    return tls_auth_registry


def test_login_push_pull_over_tls(trusted, service, private_config):
    name = f"{trusted.host}/secure/box:1"
    r = _login(service, trusted, password="wrong")
    assert r.rc != 0 and "wrong username or password" in r.err, r.err
    assert _login(service, trusted).rc == 0
    assert service.docker("tag", "busybox", name).rc == 0
    r = service.docker("push", name, timeout=120)
    assert r.rc == 0 and "digest: sha256:" in r.out, (r.out, r.err)
    service.cli.ok("rmi", name)
    r = service.docker("pull", name, timeout=120)
    assert r.rc == 0 and "Digest: sha256:" in r.out, (r.out, r.err)
    assert "secure/box" in service.cli.ok("images")
    assert not private_config.exists()


def test_an_untrusted_certificate_is_one_clear_line(service, tls_auth_registry):
    r = _login(service, tls_auth_registry)
    assert r.rc != 0 and "certificate verify failed" in r.err, r.err
    r = service.docker("pull", f"{tls_auth_registry.host}/secure/box:1", timeout=60)
    assert r.rc != 0 and "certificate" in r.err and len(r.err.strip().splitlines()) == 1, r.err


def test_build_pulls_a_private_base_image_with_the_clients_logins(service, auth_registry, private_config,
                                                                   tmp_path):
    base = f"{auth_registry.host}/team/base:1"
    assert _login(service, auth_registry).rc == 0
    assert service.docker("tag", "busybox", base).rc == 0
    assert service.docker("push", base, timeout=120).rc == 0
    assert service.docker("rmi", base).rc == 0
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(f"FROM {base}\nRUN echo private > /p\n")
    # a client with no login: the registry refuses the base image
    anonymous = {**service.env(), "DOCKER_CONFIG": str(tmp_path / "nobody")}
    r = service.docker("build", "-t", "from-private", str(ctx), env=anonymous, timeout=180)
    assert r.rc != 0 and "authentication" in r.err, (r.out, r.err)
    # the logged-in client sends its logins (X-Registry-Config) with the build
    r = service.docker("build", "-t", "from-private", str(ctx), timeout=180)
    assert r.rc == 0, (r.out, r.err)
    assert service.cli.ok("run", "--rm", "from-private", "cat", "/p").strip() == "private"
    assert not private_config.exists()
