"""Bearer token flow against the real docker-registry with `auth: token`, our token
server in the test issuing signed JWTs: anonymous push refused, login, push, pull."""

import secrets

import pytest

from sampan.errors import RegistryError
from sampan.registry import login, logout, pull, push


def test_token_auth_push_pull(token_registry, busybox_stores):
    a, b = busybox_stores
    ref = f"{token_registry.host}/tok/bb-{secrets.token_hex(4)}:1"
    with pytest.raises(RegistryError, match="authentication required.*sampan login"):
        push(a, "busybox:latest", ref, progress=False)
    with pytest.raises(RegistryError, match="wrong username or password"):
        login(token_registry.host, "alice", "bad")
    login(token_registry.host, "alice", "s3cret")
    digest = push(a, "busybox:latest", ref, progress=False)
    scopes = [s for q in token_registry.tokens.requests for s in q.get("scope", [])]
    assert any(s.endswith(":pull,push") and "tok/bb-" in s for s in scopes)
    assert pull(b, ref, progress=False).manifest_digest == digest
    assert logout(token_registry.host)
    # anonymous pull is allowed by this token server (pull scope only)
    assert pull(b, ref, progress=False).id == a.resolve("busybox").id
