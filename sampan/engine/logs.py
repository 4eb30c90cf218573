"""Container logs in Docker's json-file format, with a size limit and rotation.

One JSON object per line: {"log": "...", "stream": "stdout"|"stderr", "time": RFC3339Nano}.
The current file is <id>-json.log; rotated ones are .1 (newer) ... .N (older).
Docker keeps logs unbounded by default; we rotate at 10 MB x 3 files unless told.
"""

from __future__ import annotations

import os
import time
from _json import encode_basestring as _json_str  # the C encoder, without json's re

DEFAULT_MAX_SIZE = 10 * 1024 * 1024
DEFAULT_MAX_FILES = 3


def rfc3339nano(t: float | None = None) -> str:
    t = time.time() if t is None else t
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1e9):09d}Z"


class LogWriter:
    """Line-splits a stream's bytes into json-file records; rotates by size."""

    def __init__(self, path, max_size: int = DEFAULT_MAX_SIZE, max_files: int = DEFAULT_MAX_FILES):
        self.path = str(path)  # a str, not a Path: the lean monitor does not import pathlib
        self.max_size = max_size
        self.max_files = max(1, max_files)
        self._f = _open_log(self.path)
        self._size = self._f.tell()
        self._partial: dict[str, bytes] = {}
        self._dropped = 0  # bytes of output that a full disk kept out of the log

    def write(self, stream: str, data: bytes) -> None:
        buf = self._partial.get(stream, b"") + data
        *lines, rest = buf.split(b"\n")
        for line in lines:
            self._emit(stream, line + b"\n")
        # A very long line without newline is flushed in pieces, as Docker does at 16K.
        while len(rest) >= 16384:
            self._emit(stream, rest[:16384])
            rest = rest[16384:]
        self._partial[stream] = rest

    def flush_partial(self) -> None:
        for stream, rest in list(self._partial.items()):
            if rest:
                self._emit(stream, rest)
        self._partial.clear()

    def _emit(self, stream: str, line: bytes) -> None:
        # Hand-assembled like json.dumps(..., ensure_ascii=False): the lean monitor
        # must not import the json package (its regexes cost ~1 MB per container).
        rec = (f'{{"log":{_json_str(line.decode("utf-8", "replace"))},"stream":"{stream}",'
               f'"time":"{rfc3339nano()}"}}\n').encode()
        try:
            if self._dropped:
                note = (f"sampan: {self._dropped} bytes of output were not logged: the disk was full "
                        f"({self.path})\n")
                self._append(f'{{"log":{_json_str(note)},"stream":"stderr","time":"{rfc3339nano()}"}}\n'
                             .encode())
                self._dropped = 0
            if self._size + len(rec) > self.max_size and self._size > 0:
                self._rotate()
            self._append(rec)
        except OSError:
            # A full disk (or a failing one) must not end the monitor, and with it the
            # container: drop the output, and say so in the log once it can be written.
            self._dropped += len(line)

    def _append(self, rec: bytes) -> None:
        """Write one whole record, or none: a short write is cut off again."""
        if self._f.closed:  # a rotation could not open the new file: try again
            self._f = open(self.path, "ab", buffering=0)
            self._size = self._f.tell()
        view = memoryview(rec)
        try:
            while view:
                view = view[self._f.write(view):]
        except OSError:
            try:
                os.ftruncate(self._f.fileno(), self._size)
            except OSError:
                pass
            raise
        self._size += len(rec)

    def _rotate(self) -> None:
        self._f.close()
        if self.max_files == 1:
            os.truncate(self.path, 0)
        else:
            # shift .1 -> .2 -> ... only as far as rotated files exist: max-file may be huge
            n = 1
            while n < self.max_files - 1 and os.path.exists(f"{self.path}.{n}"):
                n += 1
            for i in range(n, 0, -1):
                src = self.path if i == 1 else f"{self.path}.{i - 1}"
                if os.path.exists(src):
                    os.replace(src, f"{self.path}.{i}")
        self._f = _open_log(self.path)
        self._size = 0

    def close(self) -> None:
        self.flush_partial()
        self._f.close()


def _open_log(path: str):
    """Append-only and 0600: a log holds whatever the container prints (tokens too)."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
    return open(fd, "ab", buffering=0)


def _files_oldest_first(path) -> list:
    from pathlib import Path
    path = Path(path)
    rotated = sorted(path.parent.glob(path.name + ".*"),
                     key=lambda p: -int(p.suffix[1:]) if p.suffix[1:].isdigit() else 0)
    return [p for p in rotated if p.suffix[1:].isdigit()] + ([path] if path.exists() else [])


def parse_line(raw: bytes) -> dict | None:
    import json
    try:
        rec = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(rec, dict) or not isinstance(rec.get("log"), str):
        return None
    return rec


def read_records(path, tail: int | None = None, since: str | None = None) -> list[dict]:
    records: list[dict] = []
    for f in _files_oldest_first(path):
        with open(f, "rb") as fh:
            for raw in fh:
                rec = parse_line(raw)
                if rec is not None and (since is None or rec.get("time", "") >= since):
                    records.append(rec)
    if tail is not None:
        records = records[-tail:] if tail > 0 else []
    return records


def window(since: str | None, until: str | None) -> tuple[str | None, str | None, float | None]:
    """`logs --since/--until` as bounds in the records' own time format (RFC 3339 in UTC with
    nanoseconds compares as a string), and until as a Unix time (when following stops)."""
    from sampan.engine.events_read import parse_timestamp
    from sampan.errors import InvalidArgument
    start, end = parse_timestamp(since), parse_timestamp(until)
    try:
        return (None if not start else rfc3339nano(start), None if not end else rfc3339nano(end),
                end or None)
    except (OverflowError, OSError, ValueError):
        raise InvalidArgument(f"invalid time {since if start else until!r}: out of range") from None


def in_window(rec: dict, lo: str | None, hi: str | None) -> bool:
    t = rec.get("time", "")
    return (lo is None or t >= lo) and (hi is None or t <= hi)


def with_details(records):
    """`logs --details`: each record's text after its extra attributes (json-file's "attrs":
    the --log-opt labels and env) as Docker prints them: sorted k=v pairs, URL-escaped,
    comma-separated, then a space (the space alone when there are none)."""
    from urllib.parse import quote_plus
    for rec in records:
        attrs = rec.get("attrs")
        pairs = sorted(attrs.items()) if isinstance(attrs, dict) else []
        prefix = ",".join(f"{quote_plus(str(k))}={quote_plus(str(v))}" for k, v in pairs)
        yield dict(rec, log=f"{prefix} {rec['log']}")


def follow_records(path, still_running, poll: float = 0.05):
    """Yield records appended to the current log file until still_running() is false."""
    f = open(path, "rb")
    f.seek(0, os.SEEK_END)
    ino = os.fstat(f.fileno()).st_ino
    pending = b""
    try:
        while True:
            chunk = f.read()
            if chunk:
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for raw in lines:
                    rec = parse_line(raw)
                    if rec is not None:
                        yield rec
                continue
            try:
                if os.stat(path).st_ino != ino:  # rotated: continue in the new file
                    f.close()
                    f = open(path, "rb")
                    ino = os.fstat(f.fileno()).st_ino
                    continue
            except FileNotFoundError:
                pass
            if not still_running():
                rest = f.read()
                for raw in (pending + rest).split(b"\n"):
                    rec = parse_line(raw)
                    if rec is not None:
                        yield rec
                return
            time.sleep(poll)
    finally:
        f.close()
