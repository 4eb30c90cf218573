"""Credentials kept as Docker keeps them: config.json, ``auths`` -> {key: {"auth": b64(user:pass)}}.

Written to $SAMPAN_CONFIG or ~/.config/sampan/config.json (mode 0600). Read from there,
then from ~/.docker/config.json as a fallback so an existing `docker login` works.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from pathlib import Path

from sampan.errors import InvalidArgument, RegistryError
from sampan.registry.names import auth_key
from sampan.state.atomic import atomic_write_json


def config_path() -> Path:
    env = os.environ.get("SAMPAN_CONFIG")
    if env:
        return Path(env)
    return Path.home() / ".config" / "sampan" / "config.json"


def docker_config_path() -> Path:
    env = os.environ.get("DOCKER_CONFIG")
    base = Path(env) if env else Path.home() / ".docker"
    return base / "config.json"


def read_config(path: Path) -> dict:
    """The parsed file, {} when absent. A corrupt file is the user's to fix: say where it is."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as e:
        raise RegistryError(f"cannot read credentials file {path}: {e.strerror}") from None
    try:
        data = json.loads(raw or b"{}")
    except ValueError:
        raise RegistryError(f"credentials file {path} is not valid JSON; fix or remove it") from None
    if not isinstance(data, dict):
        raise RegistryError(f"credentials file {path} is not a JSON object; fix or remove it")
    return data


def _decode_entry(entry: object) -> tuple[str, str] | None:
    if not isinstance(entry, dict):
        return None
    if entry.get("username") and entry.get("password"):
        return str(entry["username"]), str(entry["password"])
    auth = entry.get("auth")
    if not auth:
        return None
    try:
        user, _, password = base64.b64decode(auth, validate=False).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return (user, password) if user else None


def _lookup(auths: dict, key: str) -> tuple[str, str] | None:
    if key in auths:
        return _decode_entry(auths[key])
    for k, v in auths.items():   # Docker also accepts keys written as URLs
        host = k.split("://", 1)[-1].split("/", 1)[0]
        if host == key or (key.startswith("https://index.docker.io") and host == "index.docker.io"):
            return _decode_entry(v)
    return None


def get_credentials(domain: str) -> tuple[str, str] | None:
    """(username, password) for a registry domain, from our file then Docker's."""
    key = auth_key(domain)
    for path in (config_path(), docker_config_path()):
        auths = read_config(path).get("auths") or {}
        if isinstance(auths, dict):
            found = _lookup(auths, key)
            if found:
                return found
    return None


def store_credentials(domain: str, username: str, password: str) -> Path:
    if not username or ":" in username:
        raise InvalidArgument("username must be non-empty and contain no ':'")
    path = config_path()
    data = read_config(path)
    auths = data.setdefault("auths", {})
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    auths[auth_key(domain)] = {"auth": token}
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    atomic_write_json(path, data, mode=0o600)
    os.chmod(path, 0o600)
    return path


def remove_credentials(domain: str) -> bool:
    """Forget a registry's credentials; False when there were none in our file."""
    path = config_path()
    data = read_config(path)
    auths = data.get("auths") or {}
    if auth_key(domain) not in auths:
        return False
    del auths[auth_key(domain)]
    atomic_write_json(path, data, mode=0o600)
    return True
