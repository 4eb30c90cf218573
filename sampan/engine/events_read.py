"""Reading the event journal (engine/events.py): past events between since and until,
then, when asked, following the file as writers append, across a rotation.

Docker's rules: with neither since nor until only new events are shown; with since
(or until) the journal's past comes first; until ends the stream, also when nothing
happens. Filters (`type`, `container`, `image`, `event`, `label`, `network`,
`volume`, `scope`) as `docker events --filter`: values of one key are alternatives,
different keys must all match, every label must match.
"""

from __future__ import annotations

import calendar
import json
import os
import re
import time
from typing import Callable, Iterator

from sampan.engine import filters
from sampan.engine.events import journal_path
from sampan.errors import InvalidArgument

ALLOWED = ("type", "container", "image", "event", "label", "network", "volume", "scope", "daemon",
           "plugin", "node", "service", "secret", "config")
TYPES = ("container", "image", "network", "volume", "daemon", "plugin", "node", "service", "secret",
         "config", "builder")
POLL = 0.1

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNIT = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


def parse_timestamp(value: str | None, now: float | None = None) -> float | None:
    """Docker's --since/--until: a Unix time (`1700000000`, `1700000000.5`, the API's
    `SEC.NANOS`), an RFC 3339 time or date, or a Go duration before now (`10m`, `1h30m`)."""
    if value is None or value == "":
        return None
    v = value.strip()
    if len(v) > 64:  # a client's string: no time is that long (and int() of 5000 digits raises)
        raise InvalidArgument(f"invalid time {value[:40]!r}...: too long")
    now = time.time() if now is None else now
    if re.fullmatch(r"\d+(\.\d{1,9})?", v):
        sec, _, frac = v.partition(".")
        if int(sec) >= 2 ** 63:  # Go's ParseInt(sec, 10, 64) refuses it too
            raise InvalidArgument(f"invalid time {v[:100]!r}: seconds out of range")
        return int(sec) + (int(frac.ljust(9, "0")) / 1e9 if frac else 0.0)
    if re.fullmatch(r"(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+", v):
        return now - sum(float(n) * _UNIT[u] for n, u in _DURATION.findall(v))
    m = re.fullmatch(r"(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2})?)(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?", v)
    if m:
        day, clock, frac, zone = m.groups()
        clock = clock or "00:00:00"
        if clock.count(":") == 1:
            clock += ":00"
        try:
            t = time.strptime(f"{day}T{clock}", "%Y-%m-%dT%H:%M:%S")
        except ValueError:
            t = None
        if t is not None:
            if zone is None:  # no zone: the local time, as Docker reads it
                secs = time.mktime(t)
            else:
                secs = calendar.timegm(t)
                if zone != "Z":
                    sign = -1 if zone[0] == "+" else 1
                    hh, mm = int(zone[1:3]), int(zone[-2:])
                    secs += sign * (hh * 3600 + mm * 60)
            return secs + (float(frac) if frac else 0.0)
    raise InvalidArgument(f"invalid time {value[:100]!r}: give a Unix timestamp, an RFC 3339 time "
                          "(2024-01-02T15:04:05Z) or a duration before now (10m, 1h30m)")


class Matcher:
    def __init__(self, spec) -> None:
        self.want = filters.parse(spec, ALLOWED, "events")
        for t in self.want.get("type", []):
            if t not in TYPES:
                raise InvalidArgument(f"invalid filter 'type={t}': one of {', '.join(TYPES)}")

    def __call__(self, ev: dict) -> bool:
        w = self.want
        if not w:
            return True
        typ, action = ev.get("Type", ""), ev.get("Action", "")
        actor = ev.get("Actor") or {}
        aid, attrs = actor.get("ID", ""), actor.get("Attributes") or {}
        if "type" in w and typ not in w["type"]:
            return False
        if "event" in w and not any(action == e or action.startswith(e + ":") for e in w["event"]):
            return False
        if "scope" in w and ev.get("scope", "local") not in w["scope"]:
            return False
        if "label" in w and not filters.labels_match(attrs, w["label"]):
            return False
        if "container" in w and not (typ == "container" and _names(aid, attrs.get("name"), w["container"])):
            return False
        if "image" in w and not self._image(typ, aid, attrs, w["image"]):
            return False
        if "network" in w and not (typ == "network" and _names(aid, attrs.get("name"), w["network"])):
            return False
        if "volume" in w and not (typ == "volume" and _names(aid, None, w["volume"])):
            return False
        for key in ("daemon", "plugin", "node", "service", "secret", "config"):
            if key in w:
                return False  # sampan has none of those: nothing matches
        return True

    @staticmethod
    def _image(typ: str, aid: str, attrs: dict, wanted: list[str]) -> bool:
        if typ == "container":
            names = [attrs.get("image", "")]
        elif typ == "image":
            names = [aid, attrs.get("name", "")]
        else:
            return False
        for n in filter(None, names):
            bare = n.rsplit(":", 1)[0] if ":" in n.rsplit("/", 1)[-1] else n
            for w in wanted:
                if w in (n, bare) or (w.startswith("sha256:") and n == w) or \
                        (n.startswith("sha256:") and len(w) >= 4 and n[7:].startswith(w)):
                    return True
        return False


def _names(aid: str, name: str | None, wanted: list[str]) -> bool:
    return any(w == aid or (name and w == name) or (len(w) >= 3 and aid.startswith(w)) for w in wanted)


def read(runroot, since: float | None, until: float | None, spec=None, follow: bool = True,
         gone: Callable[[], bool] = lambda: False) -> Iterator[dict]:
    """The events the journal holds from `since` to `until`, then (with follow and no
    until in the past) those that are written, until `until` passes or gone() says so."""
    match = Matcher(spec)
    path = journal_path(runroot)
    since_ns = None if since is None else int(since * 1e9)
    until_ns = None if until is None else int(until * 1e9)
    start_ns = time.time_ns()
    past = since is not None or until is not None

    def wanted(ev: dict) -> bool:
        t = ev.get("timeNano", 0)
        if since_ns is not None and t < since_ns:
            return False
        if until_ns is not None and t > until_ns:
            return False
        return match(ev)

    fd = _open(path)
    if past:
        with _opened(path + ".1") as old:
            if old is not None and not (fd is not None and _same(old, fd)):  # rotated meanwhile: once
                yield from (ev for ev in _lines(old, bytearray(), final=True) if wanted(ev))
    elif fd is not None:
        os.lseek(fd, 0, os.SEEK_END)  # only new events
    buf = bytearray()
    try:
        while True:
            if fd is not None:
                for ev in _lines(fd, buf):
                    if not past and ev.get("timeNano", 0) < start_ns:
                        continue
                    if until_ns is not None and ev.get("timeNano", 0) > until_ns:
                        return
                    if wanted(ev):
                        yield ev
            if not follow or (until_ns is not None and time.time_ns() > until_ns) or gone():
                return
            fd = _follow_rotation(path, fd, buf)
            if fd is None or not _grew(fd):
                time.sleep(POLL)
    finally:
        if fd is not None:
            os.close(fd)


def _open(path: str) -> int | None:
    try:
        return os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None


class _opened:
    def __init__(self, path: str) -> None:
        self.fd = _open(path)

    def __enter__(self):
        return self.fd

    def __exit__(self, *exc) -> None:
        if self.fd is not None:
            os.close(self.fd)


def _lines(fd: int, buf: bytearray, final: bool = False) -> Iterator[dict]:
    """Complete lines read from fd from where it stands (a writer's half line waits in buf)."""
    while True:
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            break
        buf += chunk
        *lines, rest = bytes(buf).split(b"\n")
        buf[:] = rest
        for line in lines:
            try:
                ev = json.loads(line)
            except ValueError:
                continue  # a torn line (the disk filled mid-write): skip it
            if isinstance(ev, dict):
                yield ev
    if final:
        buf.clear()


def _same(a: int, b: int) -> bool:
    sa, sb = os.fstat(a), os.fstat(b)
    return (sa.st_ino, sa.st_dev) == (sb.st_ino, sb.st_dev)


def _grew(fd: int) -> bool:
    return os.fstat(fd).st_size > os.lseek(fd, 0, os.SEEK_CUR)


def _follow_rotation(path: str, fd: int | None, buf: bytearray) -> int | None:
    """The fd to read next: the same one, or the new file once the journal was rotated
    (what was appended to the old one before the rename was read by the caller's loop)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return fd
    if fd is not None:
        own = os.fstat(fd)
        if (own.st_ino, own.st_dev) == (st.st_ino, st.st_dev):
            return fd
        if own.st_size > os.lseek(fd, 0, os.SEEK_CUR):
            return fd  # the old file still has lines for us: read them first
        os.close(fd)
        buf.clear()
        # rotated twice since we last looked: the generation between ours and the new
        # file is now `.1` (read it whole first); a third rotation would have deleted it
        older = _open(path + ".1")
        if older is not None:
            mid = os.fstat(older)
            if (mid.st_ino, mid.st_dev) not in ((own.st_ino, own.st_dev), (st.st_ino, st.st_dev)):
                return older
            os.close(older)
        return _open(path)
    buf.clear()
    return _open(path)
