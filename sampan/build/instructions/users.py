"""--chown USER[:GROUP] -> (uid, gid), read from the image's own /etc/passwd and /etc/group."""

from __future__ import annotations

import os
import stat

from sampan.store.merged_view import MergedView

_MAX_BYTES = 64 << 20  # an /etc/passwd larger than this is not one


class UserError(ValueError):
    pass


def _read(view: MergedView, path: str) -> list[list[str]]:
    """The file's rows, read by fd below its layer (an image's link never leads out)."""
    try:
        fd = view.open(view.resolve(path).lstrip("/"), os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return []
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return []
        text = f.read(_MAX_BYTES).decode(errors="replace")
    rows = []
    for line in text.splitlines():
        if line and not line.startswith("#"):
            rows.append(line.split(":"))
    return rows


def resolve_chown(spec: str, view: MergedView) -> tuple[int, int]:
    user, sep, group = spec.partition(":")
    if not user:
        raise UserError(f"invalid --chown {spec!r}: expected USER[:GROUP]")
    uid: int | None = None
    primary_gid: int | None = None
    if user.isdigit():
        uid = int(user)
        primary_gid = uid if not sep else None
    else:
        for row in _read(view, "/etc/passwd"):
            if len(row) >= 4 and row[0] == user:
                uid, primary_gid = int(row[2]), int(row[3])
                break
        if uid is None:
            raise UserError(f"unable to find user {user}: no matching entries in the image's /etc/passwd")
    if not sep:
        assert primary_gid is not None
        return uid, primary_gid
    if group.isdigit():
        return uid, int(group)
    for row in _read(view, "/etc/group"):
        if len(row) >= 3 and row[0] == group:
            return uid, int(row[2])
    raise UserError(f"unable to find group {group}: no matching entries in the image's /etc/group")


def parse_chmod(spec: str) -> int:
    try:
        mode = int(spec, 8)
    except ValueError:
        raise UserError(f"invalid --chmod {spec!r}: expected an octal mode like 755") from None
    if mode > 0o7777:
        raise UserError(f"invalid --chmod {spec!r}: mode out of range")
    return mode
