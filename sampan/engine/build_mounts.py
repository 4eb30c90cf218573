"""The host side of RUN --mount (sampan/build/run_mounts.py plans them): what to mount
where, under the RUN step's own dir in the build's scratch, so a killed build's guard
or sweep unmounts it with the rest.

- bind: an overlay of the source tree (the context dir, or a stage's or image's layers)
  with a throw-away upper dir, so `rw` writes are discarded and the source is never
  changed; the step gets a bind of the resolved source inside it (read-only unless rw).
- cache: <root>/buildcache/<id digest>/, kept between builds (`builder prune` removes
  it); `sharing=locked` holds a lock for the step, `private` takes an instance nobody
  holds.
- secret: a small tmpfs of the step's (never on disk, gone with the step) holding the
  secret's bytes, bound read-only at its target.
- tmpfs: a tmpfs.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import stat
from pathlib import Path

from sampan.engine import overlay
from sampan.engine.context import Context

CACHE_DIR = "buildcache"


def cache_root(ctx: Context) -> Path:
    return ctx.paths.root / CACHE_DIR


def _escape(path: Path) -> str:
    """A path in overlayfs's lowerdir list: its separators escaped."""
    return str(path).replace("\\", "\\\\").replace(":", "\\:").replace(",", "\\,")


def _whiteouts(upper: Path, lower: Path, under: str, hidden: list[str]) -> None:
    """Overlay whiteouts (0/0 char devices) in `upper` for `hidden` paths below `under`;
    the directories on the way get their lower dir's mode and owner (overlayfs shows the
    upper's)."""
    for rel in hidden:
        parts = [p for p in f"{under}/{rel}".split("/") if p]
        for i in range(1, len(parts)):
            sub = "/".join(parts[:i])
            if not os.path.isdir(upper / sub):
                st = os.lstat(lower / sub)
                os.mkdir(upper / sub)
                os.chown(upper / sub, st.st_uid, st.st_gid)
                os.chmod(upper / sub, stat.S_IMODE(st.st_mode))
        os.mknod(upper / "/".join(parts), stat.S_IFCHR | 0o600, os.makedev(0, 0))


def _overlay(lowers: list[Path], d: Path, hidden: list[str] | tuple[str, ...] = (), under: str = "") -> Path:
    from sampan.runtime.syscalls import Syscalls
    root, upper, work = d / "root", d / "upper", d / "work"
    for p in (root, upper, work):
        p.mkdir(parents=True)
    if hidden:
        _whiteouts(upper, lowers[0], under, list(hidden))
    if not lowers:
        lowers = [d / "empty"]
        lowers[0].mkdir()
    opts = (f"lowerdir={':'.join(_escape(p) for p in lowers)},upperdir={_escape(upper)},"
            f"workdir={_escape(work)},index=off")
    Syscalls().mount("overlay", str(root), "overlay", 0, opts)
    return root


class StepMounts:
    """The mounts of one RUN step: `prepare()` makes them and gives the OCI mounts;
    `close()` undoes them (idempotent, in reverse order)."""

    def __init__(self, ctx: Context, work: Path, plans: list):
        self.ctx = ctx
        self.work = work
        self.plans = plans
        self.mounted: list[Path] = []
        self.locks: list[int] = []

    def prepare(self) -> list[dict]:
        out = []
        for i, plan in enumerate(self.plans):
            if plan.kind == "bind":
                root = _overlay(list(plan.source_dirs), self.work / f"m{i}", plan.hidden, plan.source)
                self.mounted.append(root)
                source = root / plan.source if plan.source else root
                out.append(_bind(source, plan.target, plan.readonly))
            elif plan.kind == "cache":
                out.append(_bind(self._cache_dir(plan), plan.target, plan.readonly))
            elif plan.kind == "secret":
                out.append(_bind(self._secret_file(i, plan), plan.target, True))
            elif plan.kind == "tmpfs":
                opts = ["nosuid", "nodev"] + ([f"size={plan.size}"] if plan.size else [])
                out.append({"destination": plan.target, "type": "tmpfs", "source": "tmpfs",
                            "options": opts})
        return out

    def _secret_file(self, i: int, plan) -> Path:
        d = self.work / "secrets"
        if not d.exists():
            from sampan.runtime.syscalls import Syscalls
            d.mkdir(mode=0o700)
            total = sum(len(p.data) for p in self.plans if p.kind == "secret")
            Syscalls().mount("tmpfs", str(d), "tmpfs", 0,
                             f"mode=0700,size={max(1 << 20, 2 * total)}")
            self.mounted.append(d)
        path = d / str(i)
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, plan.data)
            os.fchown(fd, plan.uid, plan.gid)
            os.fchmod(fd, plan.mode if plan.mode is not None else 0o400)
        finally:
            os.close(fd)
        return path

    def _cache_dir(self, plan) -> Path:
        base = cache_root(self.ctx)
        base.mkdir(mode=0o700, exist_ok=True)
        name = hashlib.sha256(plan.cache_id.encode()).hexdigest()[:40]
        n = 0
        while True:
            d = base / (name if n == 0 else f"{name}-{n}")
            if plan.sharing == "shared" or self._lock(d, wait=plan.sharing == "locked"):
                break
            n += 1  # private: an instance no other step holds
        if not d.exists():
            d.mkdir(mode=0o755)
            os.chown(d, plan.uid, plan.gid)
            os.chmod(d, plan.mode if plan.mode is not None else 0o755)
        return d

    def _lock(self, d: Path, wait: bool) -> bool:
        fd = os.open(f"{d}.lock", os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(fd)
            return False
        self.locks.append(fd)
        return True

    def close(self) -> None:
        while self.mounted:
            overlay.unmount(self.mounted.pop())
        while self.locks:
            os.close(self.locks.pop())


def _bind(source: Path, target: str, readonly: bool) -> dict:
    return {"destination": target, "type": "bind", "source": str(source),
            "options": ["rbind", "ro" if readonly else "rw"]}


def prune_cache_mounts(ctx: Context) -> int:
    """Remove every cache mount's directory (`builder prune`); how many there were."""
    return len(prune_cache_dirs(ctx))


def prune_cache_dirs(ctx: Context, until: float | None = None) -> list[tuple[str, int]]:
    """Remove the cache mounts' directories (those last changed before ``until``, when
    given); (name, bytes) of each removed."""
    import shutil

    from sampan.engine.sizes import rw_size
    base = cache_root(ctx)
    if not base.is_dir():
        return []
    out = []
    for entry in base.iterdir():
        if entry.name.endswith(".lock"):
            if until is None:
                entry.unlink(missing_ok=True)
            continue
        try:
            if until is not None and entry.lstat().st_mtime >= until:
                continue
        except FileNotFoundError:
            continue
        size = rw_size(entry)
        shutil.rmtree(entry, ignore_errors=True)
        out.append((entry.name, size))
    return out
