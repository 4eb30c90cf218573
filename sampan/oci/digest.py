"""sha256 digests as the OCI spec writes them: ``sha256:<64 hex>``."""

from __future__ import annotations

import hashlib
import re

from sampan.errors import InvalidArgument

_DIGEST_RE = re.compile(r"^sha256:[a-f0-9]{64}$")


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def is_digest(value: str) -> bool:
    return bool(_DIGEST_RE.match(value))


def check_digest(value: str) -> str:
    """Return value if it is a well-formed sha256 digest, else raise. Guards path joins."""
    if not _DIGEST_RE.match(value):
        raise InvalidArgument(f"invalid digest {value!r}: expected sha256:<64 hex digits>")
    return value


def digest_hex(value: str) -> str:
    return check_digest(value).split(":", 1)[1]
