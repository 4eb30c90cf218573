"""`sampan --explain`: each step a command takes, in words, from every process involved.

The CLI names a private file in SAMPAN_EXPLAIN; the CLI or zygote worker, the monitor
and the container's init (before its exec) append one line per step:
`<wall clock ms> <pid> <step>\\t<text>`, read back by cli/explain_print.py. When the
variable is unset a call costs one environment lookup and writes nothing.

Values come from images, containers and build contexts (file names, commands): control
characters are escaped here, so no value can forge a line or reach a terminal raw.
The file is never created by a writer (no O_CREAT): a monitor that outlives the CLI
writes nowhere once the CLI has removed it.
"""

from __future__ import annotations

import os
import time

ENV = "SAMPAN_EXPLAIN"
WAIT = "@wait"  # this pid will write DONE: the printer waits for it (a foreground monitor)
DONE = "@done"

_fd: int | None = None  # held by a process that pivots away from the file's path
_SAFE = {c: f"\\x{c:02x}" for c in list(range(32)) + [127]}


def on() -> bool:
    return bool(os.environ.get(ENV))


def explain(step: str, text: str = "") -> None:
    path = os.environ.get(ENV)
    if not path:
        return
    line = f"{time.time() * 1000:.1f} {os.getpid()} {clean(step)}\t{clean(text)}\n".encode()
    try:
        if _fd is not None:
            os.write(_fd, line)
            return
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)
    except OSError:
        pass  # explaining never fails a command


def hold() -> int | None:
    """Open the file once and write through that fd from now on (the container's init
    calls this before pivot_root hides the path; O_CLOEXEC: its exec closes it)."""
    global _fd
    path = os.environ.get(ENV)
    if not path or _fd is not None:
        return _fd
    try:
        _fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        _fd = None
    return _fd


def safe(describe):
    """For a function that composes a line: explaining must never fail the command."""
    def guarded(*args, **kw):
        try:
            return describe(*args, **kw)
        except Exception as e:  # noqa: BLE001
            return f"(cannot describe: {type(e).__name__})"
    return guarded


def stop() -> None:
    """This process explains no more (a monitor left running after its CLI is gone)."""
    os.environ.pop(ENV, None)


def clean(value: object) -> str:
    return str(value).translate(_SAFE)


def size(n: float | None) -> str:
    if n is None:
        return "size unknown"
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return str(n)
