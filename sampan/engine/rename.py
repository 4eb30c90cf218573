"""`rename`: a container's new name (Docker's rules: the name is free and valid). Its
peers on user networks find it by the new name at once (their hosts files are
rewritten), as Docker's embedded DNS does."""

from __future__ import annotations

import sqlite3

from sampan.engine.context import Context
from sampan.engine.records import ContainerRecord
from sampan.errors import Conflict, InvalidArgument


def rename(ctx: Context, rec: ContainerRecord, new: str) -> None:
    from sampan.engine.create import _NAME_RE
    new = new.lstrip("/") if new else ""
    if not new or not _NAME_RE.match(new):
        raise InvalidArgument(f"invalid container name {new!r}: use [a-zA-Z0-9][a-zA-Z0-9_.-]+")
    if new == rec.name:
        raise InvalidArgument(f"renaming container {rec.name} to its own name")
    with ctx.container_lock(rec.id):
        try:
            ctx.containers.update(rec.id, name=new)
        except sqlite3.IntegrityError:
            raise Conflict(f'the container name "/{new}" is already in use by another container; '
                           "remove it or choose another name") from None
        from sampan.engine.networking import mode_of, nm
        if mode_of(rec.config.get("network", "none")) == "bridge":
            nm(ctx).rename(rec.id, rec.name, new)
