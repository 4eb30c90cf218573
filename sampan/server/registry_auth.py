"""X-Registry-Auth: the client's registry credentials for one pull or push.

Docker's clients send base64url JSON ({"username", "password", "serveraddress",
"identitytoken"}); "e30=" ({}) or nothing means anonymous. The credentials are used
for that one call and kept nowhere: never written to sampan's credential store,
never logged, never put in an error message.
"""

from __future__ import annotations

import base64
import binascii
import json

from sampan.server.errors import ApiError

HEADER_MAX = 64 << 10


def decode_auth(value: str | None) -> tuple[str, str] | None:
    """(username, password), or None for anonymous. 400 for a header that is not
    base64 JSON of that shape."""
    if not value or not value.strip():
        return None
    if len(value) > HEADER_MAX:
        raise ApiError(400, "X-Registry-Auth header is too large")
    raw = value.strip()
    try:
        data = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (binascii.Error, ValueError):
        raise ApiError(400, "invalid X-Registry-Auth header: not base64-encoded JSON") from None
    if not isinstance(data, dict):
        raise ApiError(400, "invalid X-Registry-Auth header: not a JSON object")
    return credentials_of(data, "X-Registry-Auth header")


def decode_auth_map(value: str | None) -> dict[str, tuple[str, str]]:
    """X-Registry-Config (a build's): base64url JSON {registry: AuthConfig}, every login the
    client has; {registry: (username, password)} for those with a user."""
    if not value or not value.strip():
        return {}
    raw = value.strip()
    try:
        data = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (binascii.Error, ValueError):
        raise ApiError(400, "invalid X-Registry-Config header: not base64-encoded JSON") from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise ApiError(400, "invalid X-Registry-Config header: not a JSON object of logins")
    out = {}
    for server, entry in data.items():
        creds = credentials_of(entry, "X-Registry-Config header")
        if creds:
            out[server] = creds
    return out


def credentials_of(data: dict, what: str) -> tuple[str, str] | None:
    """(username, password) from an AuthConfig object; None when it names no user."""
    user, password = data.get("username") or "", data.get("password") or ""
    if not isinstance(user, str) or not isinstance(password, str):
        raise ApiError(400, f"invalid {what}: username and password must be strings")
    if not user:
        token = data.get("identitytoken") or data.get("auth")
        if isinstance(token, str) and token and "identitytoken" not in data:
            # "auth": base64(user:password), as in config.json
            try:
                user, _, password = base64.b64decode(token).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError, ValueError):
                raise ApiError(400, f"invalid {what}: auth is not base64 of user:password") from None
    return (user, password) if user else None
