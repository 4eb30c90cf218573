"""Registry host names as Docker treats them: Hub aliases, credential keys, insecure hosts."""

from __future__ import annotations

import os

DOCKER_HUB_DOMAINS = ("docker.io", "index.docker.io", "registry-1.docker.io")
DOCKER_HUB_API = "registry-1.docker.io"
DOCKER_HUB_AUTH_KEY = "https://index.docker.io/v1/"


def api_host(domain: str) -> str:
    """The host[:port] that serves /v2/ for a reference's domain."""
    return DOCKER_HUB_API if domain in DOCKER_HUB_DOMAINS else domain


def auth_key(domain: str) -> str:
    """The key under ``auths`` in config.json for a registry (Docker's spelling)."""
    return DOCKER_HUB_AUTH_KEY if domain in DOCKER_HUB_DOMAINS else domain


def normalize_login_target(registry: str | None) -> str:
    """`login` accepts a bare host, a URL, or nothing (Docker Hub)."""
    reg = (registry or "docker.io").strip()
    for prefix in ("https://", "http://"):
        if reg.startswith(prefix):
            reg = reg[len(prefix):]
    reg = reg.split("/", 1)[0]
    return "docker.io" if reg in DOCKER_HUB_DOMAINS else reg


def _hostname(hostport: str) -> str:
    if hostport.startswith("["):
        return hostport[1:].split("]", 1)[0]
    return hostport.rsplit(":", 1)[0] if hostport.count(":") == 1 else hostport


def is_loopback(hostport: str) -> bool:
    host = _hostname(hostport)
    return host in ("localhost", "::1") or host.startswith("127.")


def insecure_registries(config: dict | None = None) -> set[str]:
    """Hosts allowed over plain HTTP: $SAMPAN_INSECURE_REGISTRIES (comma list) plus the
    config file's ``insecure-registries`` list (Docker keeps it in daemon.json)."""
    hosts = {h.strip() for h in os.environ.get("SAMPAN_INSECURE_REGISTRIES", "").split(",") if h.strip()}
    if config:
        hosts.update(str(h) for h in config.get("insecure-registries", []) if h)
    return hosts
