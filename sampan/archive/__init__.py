"""Image archives: `save` and `load` in Docker's and the OCI archive formats."""

from __future__ import annotations

from typing import Any, BinaryIO


def save(store: Any, refs: list[str], out: BinaryIO, format: str = "docker") -> None:
    from sampan.archive.save import save as _save
    _save(store, refs, out, format)


def load(store: Any, fileobj: BinaryIO) -> list[str]:
    from sampan.archive.load import load as _load
    return _load(store, fileobj)
