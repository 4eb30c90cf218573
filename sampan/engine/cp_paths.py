"""`cp`'s path rules, Docker's (docker cp reference; moby's archive.PrepareArchiveCopy).

Pure functions: what a trailing ``/`` or ``/.``
asserts, and where a source lands given what the destination is.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from sampan.errors import InvalidArgument


@dataclass(frozen=True)
class CpPath:
    path: str          # absolute and lexically clean ("/" for the root)
    contents: bool     # ends with "/.": a directory's contents, not the directory
    asserts_dir: bool  # ends with "/" or "/.": must be a directory (a final symlink is followed)

    @property
    def base(self) -> str:
        return posixpath.basename(self.path)

    @property
    def parent(self) -> str:
        return posixpath.dirname(self.path)


def parse(path: str, cwd: str | None = None) -> CpPath:
    """A container path (relative to the container's /) or, with `cwd`, a local one.
    `..` is resolved lexically, as Docker's filepath.Join does."""
    if cwd is not None and not path.startswith("/"):
        full = posixpath.join(cwd, path)
    else:
        full = "/" + path.lstrip("/")
    clean = posixpath.normpath(full)
    if clean.startswith("//"):
        clean = "/" + clean.lstrip("/")
    contents = posixpath.basename(path) == "." or clean == "/"
    return CpPath(clean, contents, contents or path.endswith("/"))


def top_name(src: CpPath, name: str | None = None) -> str:
    """The archive name of the source itself: its base name (or `name`, the name the user
    gave when -L followed a link), "." for a directory's contents."""
    if src.contents:
        return "."
    return name or src.base


@dataclass(frozen=True)
class Placement:
    directory: str  # extract into this directory (it must exist)
    name: str       # under this name for the source's own entry ("." for contents)


def place(src_is_dir: bool, src_name: str, dst: CpPath, dst_exists: bool,
          dst_is_dir: bool, label: str) -> Placement:
    """Where the copy lands (moby's PrepareArchiveCopy). `label` names the destination
    in errors, as the user wrote it."""
    if dst_exists and dst_is_dir:
        return Placement(dst.path, src_name)
    if dst_exists and dst.asserts_dir:
        raise InvalidArgument(f"destination {label!r} is not a directory", exit_code=1)
    if dst_exists and src_is_dir:
        raise InvalidArgument(f"cannot copy a directory to a file: {label!r} exists and is "
                              "not a directory", exit_code=1)
    if not dst_exists and not src_is_dir and dst.asserts_dir:
        raise InvalidArgument(f"destination directory {label!r} must exist to copy a file "
                              "into it", exit_code=1)
    # a file over a file, or a new name: the source's entry takes the destination's name
    return Placement(dst.parent, dst.base)
