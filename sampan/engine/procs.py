"""Facts about host processes, read from /proc. A pid alone can be reused; a pid
with its start time (field 22 of /proc/PID/stat) names one process for good."""

from __future__ import annotations

import os


def start_time(pid: int) -> int:
    """The process's start time in clock ticks since boot, or 0 if it does not exist."""
    if pid <= 0:
        return 0
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return 0
    # comm may contain spaces and parens: split after the last ')'
    fields = data[data.rfind(b")") + 2:].split()
    if fields and fields[0] == b"Z":
        return 0  # a zombie has finished; only its parent's wait is left
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return 0


def alive(pid: int, started: int) -> bool:
    return pid > 0 and started > 0 and start_time(pid) == started


def comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return "?"


def children_tree(pid: int) -> list[int]:
    """pid and all its descendants (for `top`)."""
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                data = f.read()
        except OSError:
            continue
        ppid = int(data[data.rfind(b")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop(0)
        out.append(p)
        todo.extend(sorted(kids.get(p, [])))
    return out
