"""`build --output`: the built image's filesystem written to a directory or a tar.

The layers are mounted as one overlay (with a throw-away upper dir) in the build's
scratch dir, so a killed build's sweep unmounts it, and walked by fd (store/walk_at):
what the image holds (links to host paths included) is copied as entries, never
followed. A `local` destination is written through the hardened extractor: a link the
image puts in it is never followed out of it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

from sampan.engine import overlay
from sampan.errors import InvalidArgument


def export_layers(backend, layers: list, kind: str, dest: str, stream: BinaryIO | None) -> None:
    from sampan.store import tar_at
    from sampan.store.copy_at import copy_tree_at
    from sampan.store.extract_at import ExtractOptions
    from sampan.store.walk_at import Node

    work = backend.temp_dir()
    root = work / "root"
    lowers = backend.layer_dirs(list(layers)) or [_empty(work)]
    overlay.mount_overlay(lowers, work / "upper", work / "work", root)
    try:
        rootfd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            if kind == "local":
                Path(dest).mkdir(parents=True, exist_ok=True)
                destfd = os.open(dest, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
                try:
                    copy_tree_at(rootfd, destfd, "/", ExtractOptions(keep_owner=True))
                finally:
                    os.close(destfd)
            else:
                with Node(os.dup(rootfd), "") as top:
                    if stream is not None:
                        tar_at.write(stream, tar_at.Members().tree(top, None))
                        stream.flush()
                    else:
                        _write_tar_file(dest, lambda f: tar_at.write(f, tar_at.Members().tree(top, None)))
        finally:
            os.close(rootfd)
    finally:
        overlay.unmount(root)


def _empty(work: Path) -> Path:
    d = work / "empty"
    d.mkdir()
    return d


def _write_tar_file(dest: str, write) -> None:
    tmp = f"{dest}.sampan-tmp-{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            write(f)
        os.replace(tmp, dest)
    except FileNotFoundError:
        raise InvalidArgument(f"--output: cannot write {dest!r}: its directory does not exist") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
