"""TLS settings per registry host: system CAs, plus per-host CAs the way Docker finds them."""

from __future__ import annotations

import os
import ssl
from pathlib import Path

CERTS_DIRS = (Path("/etc/sampan/certs.d"), Path("/etc/docker/certs.d"), Path("/etc/containers/certs.d"))


def ssl_context(host: str, verify: bool) -> ssl.SSLContext:
    """Verified context with the system's CAs (OpenSSL defaults, $SSL_CERT_FILE honoured)
    and any ``certs.d/<host>/*.crt``; or an unverified one for --tls-verify=false."""
    if not verify:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    ctx = ssl.create_default_context()
    extra = os.environ.get("SAMPAN_CERTS_D")
    for base in ((Path(extra),) if extra else ()) + CERTS_DIRS:
        d = base / host
        if d.is_dir():
            for crt in sorted(d.glob("*.crt")):
                ctx.load_verify_locations(cafile=str(crt))
    return ctx
