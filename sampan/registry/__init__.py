"""Registries: pull, push, login, logout over the OCI distribution API.

The heavy parts (httpx, threads, rich) load only when one of these is called, so
importing ``sampan.registry`` costs nothing on the `run` path. Code that may run after
``sampan.registry.pull`` (or ``.push``, ``.login``) was imported takes the function from
that module: the import makes the package's attribute of that name the module itself.

- ``tls_verify``: None = HTTPS verified with the system CAs (plus certs.d/<host>/*.crt),
  falling back to plain HTTP only for loopback hosts and insecure registries
  ($SAMPAN_INSECURE_REGISTRIES, or ``insecure-registries`` in the config file);
  False = HTTPS unverified, then plain HTTP; True = verified HTTPS only.
- ``progress``: None = rich bars if stderr is a TTY, else plain lines; False = silent;
  or an object with begin(key, total), advance(key, n), end(key, status),
  message(text), close() (see progress.ProgressSink).
- ``auth``: (username, password) for this one call, instead of the stored login (the API
  server's X-Registry-Auth); never written anywhere.
- Errors: RegistryError / ImageNotFound / DigestMismatch / InvalidArgument, one line
  each, naming the image. $SAMPAN_MAX_LAYER_SIZE caps one layer's uncompressed size.
"""

from __future__ import annotations

from typing import Any


def pull(store: Any, ref: str, *, platform: str | None = None, tls_verify: bool | None = None,
         progress: object = None, auth: tuple[str, str] | None = None) -> Any:
    from sampan.registry.pull import pull as _pull
    return _pull(store, ref, platform=platform, tls_verify=tls_verify, progress=progress, auth=auth)


def push(store: Any, local: str, dest: str | None = None, *, tls_verify: bool | None = None,
         progress: object = None, auth: tuple[str, str] | None = None) -> str:
    from sampan.registry.push import push as _push
    return _push(store, local, dest, tls_verify=tls_verify, progress=progress, auth=auth)


def login(registry: str | None, username: str, password: str, tls_verify: bool | None = None):
    from sampan.registry.login import login as _login
    return _login(registry, username, password, tls_verify)


def check_login(registry: str | None, username: str, password: str,
                tls_verify: bool | None = None) -> str:
    from sampan.registry.login import check_login as _check
    return _check(registry, username, password, tls_verify)


def logout(registry: str | None) -> bool:
    from sampan.registry.login import logout as _logout
    return _logout(registry)


def inspect_manifest(ref: str, *, tls_verify: bool | None = None, auth: tuple[str, str] | None = None) -> dict:
    from sampan.registry.manifest_inspect import inspect_manifest as _inspect
    return _inspect(ref, tls_verify=tls_verify, auth=auth)


def push_index(list_ref: str, body: bytes, media_type: str, entries: list, *, tls_verify: bool | None = None,
               auth: tuple[str, str] | None = None) -> str:
    from sampan.registry.manifest_push import push_index as _push
    return _push(list_ref, body, media_type, entries, tls_verify=tls_verify, auth=auth)
