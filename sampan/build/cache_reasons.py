"""Why a build step was or was not taken from the cache, for `sampan --explain build`.

A cache key is one hash of the parent's key and the step's inputs: a miss alone cannot
say which input changed. So each step that runs also leaves a note under its parent's
key ("what was built on this parent last time": the instruction and, for COPY/ADD, a
short digest per source file). A later miss on the same parent compares with that note
and names the instruction or the files that differ. One small cache row per step run.
"""

from __future__ import annotations

from sampan.build.cache import BuildCache, step_key
from sampan.state.explain import safe

_SHOWN = 5  # file names listed per kind of change


def note_key(parent: str) -> str:
    return step_key(parent, "explain: the step last built on this parent")


def remember(cache: BuildCache, parent: str, title: str, files: dict[str, str] | None) -> None:
    cache.put(note_key(parent), {"title": title, "files": files or {}})


@safe
def hit(title: str, files: dict[str, str] | None) -> str:
    inputs = f", the same {len(files)} source file(s)" if files else ""
    return f"{title}: cached: the same parent layer, the same instruction{inputs}: its layer is reused"


@safe
def miss(cache: BuildCache, parent: str, title: str, files: dict[str, str] | None,
         no_cache: bool, earlier_ran: bool) -> str:
    if no_cache:
        return f"{title}: runs: --no-cache"
    note = cache.get(note_key(parent))
    if note is None:
        if earlier_ran:
            return f"{title}: runs: a step above ran, so this one stands on a new parent layer"
        return f"{title}: runs: nothing was built on this parent before"
    if note.get("title") != title:
        return f"{title}: runs: the instruction changed (last time here: {note.get('title')})"
    old, new = note.get("files") or {}, files or {}
    changed = sorted(f for f in new if f in old and old[f] != new[f])
    added = sorted(f for f in new if f not in old)
    removed = sorted(f for f in old if f not in new)
    parts = [f"{what}: {', '.join(names[:_SHOWN])}{' ...' if len(names) > _SHOWN else ''}"
             for what, names in (("changed", changed), ("added", added), ("removed", removed)) if names]
    if parts:
        return f"{title}: runs: source files differ from the last build: {'; '.join(parts)}"
    return f"{title}: runs: same instruction and files; a build argument or the environment it sees changed"
