"""RUN --mount for one step: what goes in the cache key, and what the backend mounts.

The builder resolves everything that touches a tree someone else made: a bind's source
inside the context (its symlinks followed only inside it, as COPY's) or inside another
stage or image, and every target inside the step's own root (an image's symlink at a
cache target leads to where it points *in the image*, never out of it). The backend
gets plain MountPlans and mounts them; the mount points it needs are made in the step's
init layer (`make_stubs`), so nothing of a mount ever shows in the step's layer.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from sampan.build.instructions.mounts import MountError, RunMount
from sampan.store.merged_view import MergedView

TYPE_CHECKING = False
if TYPE_CHECKING:
    from sampan.build.context import SourceFS

MAX_SECRET = 500 * 1024  # BuildKit's limit on a secret's size


@dataclass
class RunMountPlan:
    kind: str  # bind, cache, secret, tmpfs
    target: str  # absolute, resolved inside the step's root: no symlink left in it
    readonly: bool = False
    source_dirs: list[Path] = field(default_factory=list)  # bind: the tree, top first
    source: str = ""  # bind: resolved path inside that tree ("" = its root)
    source_is_dir: bool = True
    hidden: list[str] = field(default_factory=list)  # bind: paths below source to hide (.dockerignore)
    cache_id: str = ""
    sharing: str = "shared"
    mode: int | None = None
    uid: int = 0
    gid: int = 0
    data: bytes = b""  # secret content (never in a key, a layer or a log)
    size: str | None = None


@dataclass
class Resolved:
    """A mount after expansion, with its source found (before the step's lowers exist)."""
    mount: RunMount
    fs: SourceFS | None = None  # bind: ContextFS or StageFS
    source_dirs: list[Path] = field(default_factory=list)
    source: str = ""
    source_is_dir: bool = True
    data: bytes | None = None  # secret; None = optional and absent: not mounted
    hidden: list[str] = field(default_factory=list)
    ident: object = None  # bind from a stage or image: what names its content (its layers)


def read_secret_file(path: str) -> bytes:
    """`build --secret id=x,src=FILE`: a regular file (a FIFO or a device would hang or
    never end), at most MAX_SECRET bytes."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ValueError(f"secret file {path!r} is not a regular file")
        if st.st_size > MAX_SECRET:
            raise ValueError(f"secret file {path!r} is larger than {MAX_SECRET} bytes")
        data = os.read(fd, MAX_SECRET + 1)
    finally:
        os.close(fd)
    if len(data) > MAX_SECRET:
        raise ValueError(f"secret file {path!r} is larger than {MAX_SECRET} bytes")
    return data


def parse_secret_flag(text: str, environ: dict[str, str]) -> tuple[str, bytes]:
    """`--secret id=x[,src=FILE|,env=VAR][,type=file|env]` (Docker's); src defaults to id."""
    import csv
    fields = {}
    for item in next(csv.reader([text])):
        k, eq, v = item.partition("=")
        k = k.strip().lower()
        if not eq or k not in ("id", "src", "source", "env", "type"):
            raise ValueError(f"invalid --secret {text!r}: expected id=ID,src=FILE")
        fields["src" if k == "source" else k] = v
    ident = fields.get("id") or ""
    kind = fields.get("type") or ("env" if "env" in fields else "file")
    if kind == "env":
        name = fields.get("env") or fields.get("src") or ident
        if not ident:
            ident = name
        if name not in environ:
            raise ValueError(f"--secret {text!r}: environment variable {name!r} is not set")
        data = environ[name].encode()
        if len(data) > MAX_SECRET:
            raise ValueError(f"secret {ident!r} is larger than {MAX_SECRET} bytes")
    elif kind == "file":
        src = fields.get("src") or ident
        if not src:
            raise ValueError(f"invalid --secret {text!r}: expected id=ID,src=FILE")
        ident = ident or os.path.basename(src)
        try:
            data = read_secret_file(src)
        except OSError as err:
            raise ValueError(f"--secret {text!r}: cannot read {src!r}: {err.strerror}") from None
    else:
        raise ValueError(f"invalid --secret type {kind!r}: file or env")
    if not ident:
        raise ValueError(f"invalid --secret {text!r}: expected id=ID,src=FILE")
    return ident, data


def resolve_sources(mounts: list[RunMount], context, stage_fs, secrets: dict[str, bytes]) -> list[Resolved]:
    """Find each bind's source (MountError when it is missing) and each secret's value.
    `stage_fs(name)` -> (StageFS, its layer dirs top first, what names its content)."""
    out = []
    for m in mounts:
        r = Resolved(m)
        if m.kind == "secret":
            r.data = secrets.get(m.id or "")
            if r.data is None and m.required:
                raise MountError(f"secret {m.id} not found: pass it with `build --secret id={m.id},src=FILE`")
        elif m.kind == "bind":
            if m.from_:
                r.fs, r.source_dirs, r.ident = stage_fs(m.from_)
            else:
                if context is None:
                    raise MountError("a bind mount from the context needs a context, but the "
                                     "Dockerfile came from stdin (`-`)")
                r.fs, r.source_dirs = context, [context.root]
            assert r.fs is not None  # set just above
            try:
                r.source = r.fs.resolve(m.source or "/")
            except OSError as err:
                raise MountError(f"source {m.source!r}: {err.strerror or err}") from None
            st = r.fs.lstat(r.source)
            if st is None or (r.source and r.fs.ignored(r.source)):
                raise MountError(f"source {m.source!r} not found")
            r.source_is_dir = stat.S_ISDIR(st.st_mode)
            if r.fs is context and r.source_is_dir:
                r.hidden = ignored_under(context, r.source)
        out.append(r)
    return out


def ignored_under(context, source: str) -> list[str]:
    """What .dockerignore excludes below `source` (relative to it): a bind of the context
    shows what a BuildKit context would hold, not the files the user kept out of it."""
    ignore = getattr(context, "ignore", None)
    if ignore is None or not ignore.patterns:
        return []
    hidden = []
    stack = [source]
    while stack:
        d = stack.pop()
        for name, st in context.scandir(d):
            rel = f"{d}/{name}" if d else name
            is_dir = stat.S_ISDIR(st.st_mode)
            if context.ignored(rel) and not (is_dir and ignore.may_reinclude_under(rel)):
                hidden.append(rel[len(source):].lstrip("/"))
            elif is_dir:
                stack.append(rel)
    return sorted(hidden)


def plans_for(resolved: list[Resolved], lowers: list[Path]) -> list[RunMountPlan]:
    """The backend's mounts, targets resolved inside the step's root."""
    view = MergedView(lowers)
    plans = []
    for r in resolved:
        m = r.mount
        if m.kind == "secret" and r.data is None:
            continue  # an optional secret nobody passed: BuildKit leaves it out
        try:
            target = view.resolve(m.target or "/")
        except OSError as err:
            raise MountError(f"target {m.target!r}: {err.strerror or err}") from None
        if target == "/":
            raise MountError(f"target {m.target!r} leads to the root directory /")
        mode = int(m.mode, 8) if m.mode is not None else None
        plan = RunMountPlan(m.kind, target, m.readonly, mode=mode, uid=int(m.uid or 0),
                         gid=int(m.gid or 0), size=m.size)
        if m.kind == "bind":
            plan.source_dirs, plan.source, plan.source_is_dir = r.source_dirs, r.source, r.source_is_dir
            plan.hidden = r.hidden
        elif m.kind == "cache":
            plan.cache_id, plan.sharing = m.id or target, m.sharing
        elif m.kind == "secret":
            plan.data, plan.source_is_dir = r.data or b"", False
            plan.mode = 0o400 if mode is None else mode
        plans.append(plan)
    return plans


def make_stubs(init: Path, lowers: list[Path], plans: list[RunMountPlan]) -> None:
    """The mount points the plans need and the image lacks, made in the step's init layer
    (a lower layer of the step's root that never becomes part of its layer). A directory
    that the image has is made again with its mode and owner, which overlayfs shows for
    the merged directory."""
    view = MergedView(lowers)
    for plan in plans:
        parts = [p for p in plan.target.split("/") if p]
        for i, part in enumerate(parts):
            rel = "/".join(parts[: i + 1])
            last = i == len(parts) - 1
            here = init / rel
            st = view.lstat(rel)
            if last and st is not None:
                break  # the image has it: it is the mount point
            if st is not None and not stat.S_ISDIR(st.st_mode):
                raise MountError(f"cannot mount at {plan.target}: /{rel} is not a directory in the image")
            if os.path.lexists(here):
                continue
            if last and st is None and not plan.source_is_dir:
                os.close(os.open(here, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644))
                break
            os.mkdir(here, 0o755)
            if st is not None:
                os.chown(here, st.st_uid, st.st_gid, follow_symlinks=False)
                os.chmod(here, stat.S_IMODE(st.st_mode))
