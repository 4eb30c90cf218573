"""A read-only merged view of unpacked layer dirs (top first), as overlayfs would show them.

Whiteouts, opaque directories and a file shadowing a lower directory hide what
is below them, as in the mounted image. COPY needs to see the image below it (is
the destination an existing dir? is a parent a symlink?), COPY --from reads
another stage's files, and `run -u NAME` reads the image's /etc/passwd: this
answers them all from the layer dirs without mounting anything, every file
opened by fd below its layer (an image's symlink never leads out of it).
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from sampan.state import inroot
from sampan.state.securejoin import read_regular

_OPAQUE_XATTR = "trusted.overlay.opaque"
_MAX_SYMLINKS = 40


def _is_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def _is_opaque(path: Path) -> bool:
    try:
        return os.getxattr(path, _OPAQUE_XATTR, follow_symlinks=False) == b"y"
    except OSError:
        return False


class MergedView:
    def __init__(self, layers: list[Path]):
        self.layers = [Path(p) for p in layers]  # top first

    @staticmethod
    def _probe(layer: Path, parts: list[str]) -> tuple[str, Path | None, bool]:
        """What one layer says about a path: ("found", p), ("missing", None) = look
        below, or ("hidden", None) = a whiteout, a file ancestor or an opaque ancestor
        in this layer hides the lower layers. The bool: an ancestor here is opaque."""
        cur = layer
        opaque_ancestor = False
        for i, part in enumerate(parts):
            cur = cur / part
            try:
                st = os.lstat(cur)
            except (FileNotFoundError, NotADirectoryError):
                return ("hidden" if opaque_ancestor else "missing"), None, opaque_ancestor
            if _is_whiteout(st):
                return "hidden", None, opaque_ancestor
            if i < len(parts) - 1:
                if not stat.S_ISDIR(st.st_mode):
                    return "hidden", None, opaque_ancestor  # a file shadows the whole subtree
                opaque_ancestor = opaque_ancestor or _is_opaque(cur)
        return "found", cur, opaque_ancestor

    def find(self, rel: str) -> Path | None:
        """The topmost real entry for rel ("a/b", no symlink resolution), or None."""
        found = self.locate(rel)
        return found[0] / found[1] if found is not None else None

    def locate(self, rel: str) -> tuple[Path, str] | None:
        """(layer dir, "a/b") of the topmost real entry for rel, or None."""
        parts = [p for p in rel.split("/") if p]
        if not parts:
            return (self.layers[0], "") if self.layers else None
        for layer in self.layers:
            state, found, _ = self._probe(layer, parts)
            if state == "found":
                return layer, "/".join(parts)
            if state == "hidden":
                return None
        return None

    def open(self, rel: str, flags: int = os.O_RDONLY) -> int:
        """An fd of the entry rel names (no symlink followed: O_PATH gives a link itself),
        opened below its layer's directory: a name never leads out of the layer."""
        found = self.locate(rel)
        if found is None:
            raise FileNotFoundError(errno.ENOENT, "no such file in the image", "/" + rel.lstrip("/"))
        rfd = inroot.open_root(found[0])
        try:
            return inroot.open_beneath(rfd, found[1], flags)
        finally:
            os.close(rfd)

    def read(self, path: str, limit: int = 4 << 20) -> bytes | None:
        """The first `limit` bytes of a regular file (symlinks resolved inside the image),
        or None when there is none: what specgen.users reads /etc/passwd with."""
        try:
            fd = self.open(self.resolve(path).lstrip("/"), os.O_RDONLY | os.O_NONBLOCK)
        except OSError:
            return None
        return read_regular(fd, limit)

    def lstat(self, rel: str) -> os.stat_result | None:
        found = self.find(rel)
        return os.lstat(found) if found is not None else None

    def resolve(self, path: str, follow_last: bool = True) -> str:
        """Canonical absolute path inside the root, symlinks followed (never escaping root)."""
        todo = [p for p in path.split("/") if p]
        done: list[str] = []
        hops = 0
        while todo:
            part = todo.pop(0)
            if part == ".":
                continue
            if part == "..":
                if done:
                    done.pop()
                continue
            cand = "/".join(done + [part])
            found = self.find(cand)
            if found is not None and (todo or follow_last) and os.path.islink(found):
                hops += 1
                if hops > _MAX_SYMLINKS:
                    raise OSError(40, "too many levels of symbolic links", path)
                target = os.readlink(found)
                if target.startswith("/"):
                    done = []
                todo = [p for p in target.split("/") if p] + todo
                continue
            done.append(part)
        return "/" + "/".join(done)

    def real_path(self, path: str) -> Path | None:
        """Host path of the file that `path` (resolved) shows, or None."""
        return self.find(self.resolve(path).lstrip("/"))

    def is_dir(self, path: str) -> bool:
        found = self.real_path(path)
        return found is not None and found.is_dir() and not found.is_symlink()

    def listdir(self, rel: str) -> list[str]:
        """Merged names in a (resolved, relative) directory."""
        parts = [p for p in rel.split("/") if p]
        names: dict[str, bool] = {}
        for layer in self.layers:
            state, d, opaque_above = self._probe(layer, parts) if parts else ("found", layer, False)
            if state == "hidden":
                break
            if state == "missing":
                continue
            assert d is not None
            if not d.is_dir() or d.is_symlink():
                break
            for entry in os.scandir(d):
                if entry.name not in names:
                    names[entry.name] = not _is_whiteout(entry.stat(follow_symlinks=False))
            if parts and (opaque_above or _is_opaque(d)):
                break
        return sorted(n for n, visible in names.items() if visible)
