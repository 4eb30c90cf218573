import pytest

from tests.unit.registry.fakestore import FakeStore


@pytest.fixture(autouse=True)
def private_config(tmp_path, monkeypatch):
    """Never read or write the real user's credentials."""
    monkeypatch.setenv("SAMPAN_CONFIG", str(tmp_path / "cfg" / "config.json"))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "dockercfg"))
    monkeypatch.delenv("SAMPAN_INSECURE_REGISTRIES", raising=False)
    return tmp_path / "cfg" / "config.json"


@pytest.fixture
def store(tmp_path):
    return FakeStore(tmp_path / "store")
