"""Scratch files of the store (``<root>/tmp``) that say who owns them, so the leftovers
of a killed ``import``, ``pull`` or ``load`` (hundreds of MB; an xattr probe of a layer
check) are removed by the next
command that writes to the store, and a live writer's are never touched.

A name is ``KIND-PID-START-RANDOM``: PID and START (its start time in clock ticks
since boot, from /proc) name the process that made it; a pid reused by another
process has another start time. A process is only ever the owner of its own names.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from sampan.state.procstat import start_time

KINDS = ("blob", "pull", "load", "probe", "trash")  # trash: dirs of removed containers
# Names of sampan versions before owners were stamped (blob-<hex>, pull-<mkdtemp>):
# removed once nothing in them changed for this long.
LEGACY_AGE = 3600.0

_stamp: str | None = None


def owner_stamp() -> str:
    global _stamp
    pid = os.getpid()
    if _stamp is None or not _stamp.startswith(f"{pid}-"):  # recomputed in a forked child
        _stamp = f"{pid}-{start_time(pid)}"
    return _stamp


def temp_name(kind: str) -> str:
    assert kind in KINDS
    return f"{kind}-{owner_stamp()}-{os.urandom(6).hex()}"


def _owner_gone(rest: str) -> bool | None:
    """True/False for a stamped name's owner; None when the name carries no stamp."""
    parts = rest.split("-")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
        return None
    return start_time(int(parts[0])) != int(parts[1])


def _quiet_for(path: Path, age: float) -> bool:
    """Nothing in path (a file, or a dir and its entries) changed for `age` seconds."""
    now = time.time()
    try:
        newest = os.lstat(path).st_mtime
        if path.is_dir() and not path.is_symlink():
            for entry in os.scandir(path):
                newest = max(newest, entry.stat(follow_symlinks=False).st_mtime)
    except OSError:
        return False
    return now - newest > age


def sweep(tmp: Path) -> list[str]:
    """Remove the scratch files and dirs in tmp whose owner is gone; returns their names."""
    try:
        names = os.listdir(tmp)
    except FileNotFoundError:
        return []
    removed = []
    for name in names:
        kind, _, rest = name.partition("-")
        if kind not in KINDS:
            continue  # not ours to judge (a build's scratch tree may hold mounts)
        path = tmp / name
        gone = _owner_gone(rest)
        if gone is False or (gone is None and not _quiet_for(path, LEGACY_AGE)):
            continue
        _remove(path)
        removed.append(name)
    return removed


def _remove(path: Path) -> None:
    try:
        if path.is_dir() and not path.is_symlink():
            import shutil
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink()
    except FileNotFoundError:
        pass  # another sweeper was first
