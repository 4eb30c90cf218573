"""The zygote's system CA context (tls.warm_system_cas) is handed out only where a fresh
context would trust exactly the same CAs."""

import shutil
import ssl

import pytest

from sampan.registry import tls


@pytest.fixture
def warm(tmp_path, monkeypatch):
    monkeypatch.setattr(tls, "_warm", None)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    monkeypatch.setenv("SAMPAN_CERTS_D", str(tmp_path / "certs.d"))
    tls.warm_system_cas()
    return tls._warm[1]


def _a_ca_file(dest):
    system = ssl.get_default_verify_paths().cafile
    if not system:
        pytest.skip("no system CA bundle")
    shutil.copy(system, dest)
    return dest


def test_same_ca_files_get_the_warm_context(warm):
    assert tls.ssl_context("registry.example", True) is warm
    assert warm.verify_mode == ssl.CERT_REQUIRED and warm.check_hostname
    assert warm.cert_store_stats()["x509_ca"] > 0
    assert tls.ssl_context("registry.example", False) is not warm      # --tls-verify=false


def test_a_host_with_its_own_ca_gets_a_context_of_its_own(warm, tmp_path):
    d = tmp_path / "certs.d" / "private.example:5000"
    d.mkdir(parents=True)
    _a_ca_file(d / "ca.crt")
    assert tls.ssl_context("private.example:5000", True) is not warm
    assert tls.ssl_context("registry.example", True) is warm


def test_another_ca_file_named_by_the_environment_is_not_served_stale(warm, tmp_path, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(_a_ca_file(tmp_path / "other.pem")))
    assert tls.ssl_context("registry.example", True) is not warm
    monkeypatch.delenv("SSL_CERT_FILE")
    assert tls.ssl_context("registry.example", True) is warm


def test_a_changed_ca_bundle_is_not_served_stale(tmp_path, monkeypatch):
    bundle = _a_ca_file(tmp_path / "bundle.pem")
    monkeypatch.setattr(tls, "_warm", None)
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    monkeypatch.setenv("SAMPAN_CERTS_D", str(tmp_path / "certs.d"))
    tls.warm_system_cas()
    warm = tls._warm[1]
    assert tls.ssl_context("registry.example", True) is warm
    with open(bundle, "ab") as f:          # update-ca-certificates rewrote it
        f.write(b"\n")
    assert tls.ssl_context("registry.example", True) is not warm
