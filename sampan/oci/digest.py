"""sha256 digests as the OCI spec writes them: ``sha256:<64 hex>``.

No regex and no hashlib at import time: every `run` imports this module, and
only a few calls hash anything.
"""

from __future__ import annotations

import functools

from sampan.errors import InvalidArgument

_HEX = frozenset("0123456789abcdef")


@functools.cache
def _small_sha256():
    """CPython's built-in sha256 (0.2 ms to load) rather than hashlib's OpenSSL one (~3 ms)."""
    try:
        from _sha256 import sha256  # CPython <= 3.11
    except ImportError:
        try:
            from _sha2 import sha256  # CPython >= 3.12
        except ImportError:
            from hashlib import sha256
    return sha256


def sha256_hex_small(data: bytes) -> str:
    """Hex sha256 of a short input (chain ids, tags). Every `run` computes chain ids; big
    inputs (blobs) should use hashlib, whose OpenSSL code is faster per byte."""
    return _small_sha256()(data).hexdigest()


def is_digest(value: str) -> bool:
    return (isinstance(value, str) and len(value) == 71 and value.startswith("sha256:")
            and _HEX.issuperset(value[7:]))


def check_digest(value: str) -> str:
    """Return value if it is a well-formed sha256 digest, else raise. Guards path joins."""
    if not is_digest(value):
        raise InvalidArgument(f"invalid digest {value!r}: expected sha256:<64 hex digits>")
    return value


def digest_hex(value: str) -> str:
    return check_digest(value).split(":", 1)[1]
