"""The engine's event journal: what happened to containers, images, networks and volumes.

Written where things happen, by whichever process did it (a CLI command, an API child,
a container's monitor recording its exit), so it is a file rather than a daemon's
memory: `<runroot>/events.jsonl`, one Docker event JSON per line, appended with a single
O_APPEND write (atomic between writers for a line this size, no lock). It is bounded:
past MAX_BYTES the writer renames it to `events.jsonl.1` (the one older generation kept)
and the next write starts a new file. Like Docker's, the journal does not outlive a
reboot (the run root is a tmpfs).

Cost on `sampan run --rm`: a create, start, die and destroy event, each one
json.dumps, one open+write+fstat+close (measured in the report of the branch that added it).
"""

from __future__ import annotations

import json
import os
import time

JOURNAL = "events.jsonl"
MAX_BYTES = 4 << 20  # ~10k events per generation

# Docker's old top-level fields (status, id, from) exist for container and image events
_LEGACY = ("container", "image")


def journal_path(runroot) -> str:
    return os.path.join(str(runroot), JOURNAL)


def emit(ctx, type_: str, action: str, actor_id: str, attributes: dict | None = None) -> None:
    """Append one event. Never fails the caller: an event lost to a full disk or a
    missing run root is not worth failing the container's start or exit for."""
    try:
        write(str(ctx.paths.runroot), type_, action, actor_id, attributes)
    except Exception:
        pass


def container_event(ctx, rec, action: str, **extra) -> None:
    """A container event with Docker's attributes: name, image, and the labels."""
    attrs = dict(rec.config.get("labels") or {})
    attrs["image"] = rec.image_ref
    attrs["name"] = rec.name
    for k, v in extra.items():
        attrs[k] = str(v)
    emit(ctx, "container", action, rec.id, attrs)


def write(runroot: str, type_: str, action: str, actor_id: str, attributes: dict | None = None) -> None:
    now = time.time_ns()
    attrs = {k: str(v) for k, v in (attributes or {}).items()}
    ev: dict = {}
    if type_ in _LEGACY:
        ev["status"] = action
        ev["id"] = actor_id
        if type_ == "container" and "image" in attrs:
            ev["from"] = attrs["image"]
    ev.update({"Type": type_, "Action": action, "Actor": {"ID": actor_id, "Attributes": attrs},
               "scope": "local", "time": now // 1_000_000_000, "timeNano": now})
    line = (json.dumps(ev, separators=(",", ":")) + "\n").encode()
    path = os.path.join(runroot, JOURNAL)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, line)
        st = os.fstat(fd)
        if st.st_size > MAX_BYTES:
            _rotate(path, st)
    finally:
        os.close(fd)


def _rotate(path: str, st: os.stat_result) -> None:
    # only if the name still means the file we wrote: two writers past the mark rotate once
    try:
        cur = os.stat(path)
        if (cur.st_ino, cur.st_dev) == (st.st_ino, st.st_dev):
            os.rename(path, path + ".1")
    except OSError:
        pass


def image_event(ctx, action: str, actor_id: str, name: str | None = None, **extra) -> None:
    attrs = {"name": name or actor_id, **extra}
    emit(ctx, "image", action, actor_id, attrs)


def image_removal_events(ctx, image_id: str | None, untagged: list[str], deleted: list[str]) -> None:
    """rmi's and prune's: an untag per tag, a delete for the image (not its layers' ids)."""
    for t in untagged:
        image_event(ctx, "untag", image_id or t, t)
    if deleted:
        image_event(ctx, "delete", deleted[0], deleted[0])
