"""`cp`'s command-line syntax: which argument names a container (`CONTAINER:PATH`)."""

from __future__ import annotations


def split_arg(arg: str) -> tuple[str | None, str]:
    """(container, path) of `CONTAINER:PATH`, (None, arg) for a local path. A local
    path with a colon must be explicit: `./file:name` or `/abs/file:name`."""
    if arg.startswith("/"):
        return None, arg
    name, sep, path = arg.partition(":")
    if not sep or name.startswith("."):
        return None, arg
    return name, path
