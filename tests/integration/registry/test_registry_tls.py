"""HTTPS registry with a self-signed certificate: refused by default with a clear line,
accepted when its CA is trusted (system store via SSL_CERT_FILE, or certs.d), or with
tls_verify=False."""

import secrets
import shutil

import pytest

from sampan.errors import RegistryError
from sampan.registry import pull, push


def test_untrusted_cert_refused_then_trusted_ways_work(tls_registry, busybox_stores, tmp_path,
                                                       monkeypatch):
    a, b = busybox_stores
    ref = f"{tls_registry.host}/tls/bb-{secrets.token_hex(4)}:1"
    with pytest.raises(RegistryError, match="certificate verify failed.*--tls-verify=false"):
        push(a, "busybox:latest", ref, progress=False)
    digest = push(a, "busybox:latest", ref, tls_verify=False, progress=False)

    certs_d = tmp_path / "certs.d"
    (certs_d / tls_registry.host).mkdir(parents=True)
    shutil.copy(tls_registry.cert, certs_d / tls_registry.host / "ca.crt")
    monkeypatch.setenv("SAMPAN_CERTS_D", str(certs_d))
    assert pull(b, ref, tls_verify=True, progress=False).manifest_digest == digest

    monkeypatch.delenv("SAMPAN_CERTS_D")
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_registry.cert))
    assert pull(b, ref, progress=False).manifest_digest == digest
