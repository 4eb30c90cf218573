import pytest

from sampan.state.db import Database
from sampan.state.paths import Paths
from sampan.store import ImageStore
from tests.unit.registry.registry_server import RegistryServer


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    srv = RegistryServer(tmp_path_factory.mktemp("registry")).start()
    yield srv
    srv.stop()
    srv.wipe()


@pytest.fixture(scope="module")
def auth_registry(tmp_path_factory):
    srv = RegistryServer(tmp_path_factory.mktemp("authreg"), users={"alice": "s3cret"}).start()
    yield srv
    srv.stop()
    srv.wipe()


@pytest.fixture(autouse=True)
def private_config(tmp_path, monkeypatch):
    monkeypatch.setenv("SAMPAN_CONFIG", str(tmp_path / "cfg" / "config.json"))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "dockercfg"))
    return tmp_path / "cfg" / "config.json"


def make_store(root, runroot) -> ImageStore:
    paths = Paths(root, runroot)
    paths.ensure()
    return ImageStore(paths, Database(paths.db))


@pytest.fixture
def two_stores(tmp_path):
    # tmp_path, not state_dirs: nothing here touches mounts or networks, and the host-wide
    # leak check would blame us for other suites' veths running in parallel.
    return (make_store(tmp_path / "a-root", tmp_path / "a-run"),
            make_store(tmp_path / "b-root", tmp_path / "b-run"))


@pytest.fixture
def busybox_stores(two_stores, busybox_tar):
    a, b = two_stores
    with open(busybox_tar, "rb") as f:
        a.import_rootfs(f, "busybox:latest")
    return a, b


@pytest.fixture(scope="module")
def tls_registry(tmp_path_factory):
    srv = RegistryServer(tmp_path_factory.mktemp("tlsreg"), tls=True).start()
    yield srv
    srv.stop()
    srv.wipe()


@pytest.fixture(scope="module")
def token_registry(tmp_path_factory):
    from tests.unit.registry.token_server import TokenServer
    tokens = TokenServer(tmp_path_factory.mktemp("tokens")).start()
    srv = RegistryServer(tmp_path_factory.mktemp("tokenreg"),
                         extra_config=tokens.registry_auth_config()).start()
    srv.tokens = tokens
    yield srv
    srv.stop()
    tokens.stop()
    srv.wipe()
