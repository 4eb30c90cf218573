"""`login` / `logout`: check credentials against the registry, then keep them like Docker."""

from __future__ import annotations

from pathlib import Path

from sampan.errors import InvalidArgument
from sampan.registry import credentials
from sampan.registry.client import RegistryClient
from sampan.registry.names import normalize_login_target


def login(registry: str | None, username: str, password: str,
          tls_verify: bool | None = None) -> Path:
    """Verify username/password with the registry (GET /v2/, token if challenged) and
    store them; returns the file written. Raises RegistryError when refused."""
    domain = check_login(registry, username, password, tls_verify)
    return credentials.store_credentials(domain, username, password)


def check_login(registry: str | None, username: str, password: str,
                tls_verify: bool | None = None) -> str:
    """Only verify username/password with the registry (the API's /auth: the client keeps
    them, not us); returns the registry's domain. Raises RegistryError when refused."""
    if not username or not password:
        raise InvalidArgument("login needs a username and a password")
    domain = normalize_login_target(registry)
    with RegistryClient(domain, domain, tls_verify=tls_verify, auth=(username, password)) as c:
        c.check_login()
    return domain


def logout(registry: str | None) -> bool:
    """Forget stored credentials; False if none were stored (Docker says 'Not logged in')."""
    return credentials.remove_credentials(normalize_login_target(registry))
