"""TLS settings per registry host: system CAs, plus per-host CAs the way Docker finds them."""

from __future__ import annotations

import os
import ssl
import threading
from pathlib import Path

CERTS_DIRS = (Path("/etc/sampan/certs.d"), Path("/etc/docker/certs.d"), Path("/etc/containers/certs.d"))


class _LazyCAContext(ssl.SSLContext):
    """A verifying context that loads the system CA bundle at its first handshake.

    Parsing the bundle costs ~50 ms per command, and a push to or pull from a plain-HTTP
    registry (127.0.0.1, insecure registries) never performs a handshake.
    """

    def _load_system_cas(self) -> None:
        lock = self.__dict__.setdefault("_sampan_lock", threading.Lock())
        with lock:
            if not self.__dict__.get("_sampan_loaded"):
                self.load_default_certs(ssl.Purpose.SERVER_AUTH)
                self.__dict__["_sampan_loaded"] = True

    def wrap_socket(self, *args, **kwargs):
        self._load_system_cas()
        return super().wrap_socket(*args, **kwargs)

    def wrap_bio(self, *args, **kwargs):
        self._load_system_cas()
        return super().wrap_bio(*args, **kwargs)


def ssl_context(host: str, verify: bool) -> ssl.SSLContext:
    """Verified context with the system's CAs (OpenSSL defaults, $SSL_CERT_FILE honoured)
    and any ``certs.d/<host>/*.crt``; or an unverified one for --tls-verify=false."""
    if not verify:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    ctx = _LazyCAContext(ssl.PROTOCOL_TLS_CLIENT)   # CERT_REQUIRED + hostname check
    extra = os.environ.get("SAMPAN_CERTS_D")
    for base in ((Path(extra),) if extra else ()) + CERTS_DIRS:
        d = base / host
        if d.is_dir():
            for crt in sorted(d.glob("*.crt")):
                ctx.load_verify_locations(cafile=str(crt))
    return ctx
