"""Resolve `-u user[:group]` against the container's own /etc/passwd and /etc/group.

Never the host's NSS: the names mean what the image says they mean.
Semantics follow Docker (moby/sys/user GetExecUser): numeric ids need no
entry; names must exist; the primary group comes from passwd unless given;
supplementary groups are those listing the user by name.
"""

from __future__ import annotations

from sampan.errors import InvalidArgument
from sampan.state.securejoin import read_in_root


class ExecUser:
    """A plain class, not a dataclass: `run` imports this module."""

    __slots__ = ("uid", "gid", "additional_gids", "home")

    def __init__(self, uid: int, gid: int, additional_gids: list[int] | None = None,
                 home: str = "/") -> None:
        self.uid = uid
        self.gid = gid
        self.additional_gids = [] if additional_gids is None else additional_gids
        self.home = home

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ExecUser):
            return NotImplemented
        return (self.uid, self.gid, self.additional_gids, self.home) == \
            (other.uid, other.gid, other.additional_gids, other.home)

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return (f"ExecUser(uid={self.uid!r}, gid={self.gid!r}, "
                f"additional_gids={self.additional_gids!r}, home={self.home!r})")


def _parse_colon_file(data: bytes | None, min_fields: int) -> list[list[str]]:
    if not data:
        return []
    rows = []
    for line in data.decode("utf-8", "replace").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split(":")
        if len(fields) >= min_fields:
            rows.append(fields)
    return rows


def _int(s: str) -> int | None:
    try:
        n = int(s)
    except ValueError:
        return None
    return n if 0 <= n < 2**32 - 1 else None


def resolve_user(rootfs, spec: str) -> ExecUser:
    """Resolve a Docker user spec ('', 'name', 'uid', 'name:group', 'uid:gid').

    rootfs is a directory, or any object with read(path) -> bytes | None.
    """
    spec = spec or "0"  # no user: root, found in passwd or not
    user_part, _, group_part = spec.partition(":")
    if hasattr(rootfs, "read"):
        read = rootfs.read
    else:
        def read(path: str) -> bytes | None:
            return read_in_root(rootfs, path)
    passwd = _parse_colon_file(read("/etc/passwd"), 7)
    groups = _parse_colon_file(read("/etc/group"), 4)

    uid_num = _int(user_part)
    entry = None
    for row in passwd:
        if row[0] == user_part or (uid_num is not None and _int(row[2]) == uid_num):
            entry = row
            break
    if entry is None:
        if uid_num is None:
            raise InvalidArgument(
                f"unable to find user {user_part}: no matching entries in the image's /etc/passwd")
        uid, gid, home, name = uid_num, 0, "/", None
    else:
        entry_uid, entry_gid = _int(entry[2]), _int(entry[3])
        if entry_uid is None or entry_gid is None:
            raise InvalidArgument(f"the image's /etc/passwd has a malformed entry for {user_part}")
        uid, gid = entry_uid, entry_gid
        home, name = entry[5] or "/", entry[0]

    if group_part:
        gid_num = _int(group_part)
        match = next((g for g in groups if g[0] == group_part
                      or (gid_num is not None and _int(g[2]) == gid_num)), None)
        match_gid = None if match is None else _int(match[2])
        if match_gid is not None:
            gid = match_gid
        elif gid_num is not None:
            gid = gid_num
        else:
            raise InvalidArgument(
                f"unable to find group {group_part}: no matching entries in the image's /etc/group")
        extra: list[int] = []  # Docker: an explicit group replaces the supplementary list
    else:
        extra = []
        if name is not None:
            for g in groups:
                members = [m.strip() for m in g[3].split(",") if m.strip()]
                g_id = _int(g[2])
                if name in members and g_id is not None and g_id != gid and g_id not in extra:
                    extra.append(g_id)
    return ExecUser(uid=uid, gid=gid, additional_gids=extra, home=home)


def resolve_groups(rootfs, names: list[str]) -> list[int]:
    """--group-add: each a GID or a group name of the image's /etc/group (Docker's rule)."""
    if not names:
        return []
    read = rootfs.read if hasattr(rootfs, "read") else (lambda path: read_in_root(rootfs, path))
    groups = _parse_colon_file(read("/etc/group"), 4)
    out: list[int] = []
    for name in names:
        gid = _int(name)
        if gid is None:
            match = next((g for g in groups if g[0] == name and _int(g[2]) is not None), None)
            if match is None:
                raise InvalidArgument(f"unable to find group {name}: no matching entries in the image's /etc/group")
            gid = _int(match[2])
            assert gid is not None  # the match was chosen for its numeric gid
        if gid not in out:
            out.append(gid)
    return out
