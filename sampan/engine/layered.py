"""Read a file of an image without mounting it: look through its unpacked layers top-first.

Good enough for small config files such as /etc/passwd: a whiteout in an upper
layer hides the file, and symlinks are resolved inside each layer (never
outside it). A file reached through a symlink that lives in another layer is
not found; sampan's callers then treat it as absent.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from sampan.state.securejoin import read_in_root, secure_join


def _whited_out(layer: Path, path: str) -> bool:
    parts = [p for p in path.split("/") if p]
    for i in range(1, len(parts) + 1):
        prefix = "/".join(parts[:i])
        try:
            st = os.lstat(secure_join(layer, prefix))
        except OSError:
            continue
        if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
            return True
    return False


def read_from_layers(layers: list[Path], path: str) -> bytes | None:
    for layer in layers:
        if _whited_out(layer, path):
            return None
        data = read_in_root(layer, path)
        if data is not None:
            return data
    return None


class LayeredRoot:
    """A read-only view with the `read_in_root`-like call the user resolver needs."""

    def __init__(self, layers: list[Path]):
        self.layers = layers

    def read(self, path: str) -> bytes | None:
        return read_from_layers(self.layers, path)
