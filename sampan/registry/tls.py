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
    extra = os.environ.get("SAMPAN_CERTS_D")
    crts = [crt for base in ((Path(extra),) if extra else ()) + CERTS_DIRS
            if (base / host).is_dir() for crt in sorted((base / host).glob("*.crt"))]
    if not crts and _warm is not None and _warm[0] == _system_cas_key():
        return _warm[1]      # loaded by the zygote for its workers, from the same CA files
    ctx = _LazyCAContext(ssl.PROTOCOL_TLS_CLIENT)   # CERT_REQUIRED + hostname check
    for crt in crts:
        ctx.load_verify_locations(cafile=str(crt))
    return ctx


# (the CA files' identity, a context with them loaded): see warm_system_cas
_warm: tuple[tuple, ssl.SSLContext] | None = None


def _system_cas_key() -> tuple:
    """Which CA files OpenSSL's defaults name (after $SSL_CERT_FILE, $SSL_CERT_DIR) and their
    size and mtime: a worker whose environment or system store differs gets no stale CAs."""
    paths = ssl.get_default_verify_paths()
    key = []
    for path in (paths.cafile, paths.capath):
        try:
            st = os.stat(path) if path else None
        except OSError:
            st = None
        key.append((path, st and (st.st_size, st.st_mtime_ns, st.st_ino)))
    return tuple(key)


def warm_system_cas(_: object = None) -> None:
    """Load the system CA bundle once (~50-95 ms, ~1 MiB) into a verifying context that
    ssl_context() hands out while the CA files stay the same. Called by the zygote: its
    workers (a pull from an HTTPS registry) then start with it loaded. The context is
    shared: OpenSSL contexts are safe to use from many connections and threads."""
    global _warm
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_default_certs(ssl.Purpose.SERVER_AUTH)
    _warm = (_system_cas_key(), ctx)
