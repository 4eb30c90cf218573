"""Facts about host processes, read from /proc. A pid alone can be reused; a pid
with its start time (field 22 of /proc/PID/stat) names one process for good."""

from __future__ import annotations

import os

from sampan.state.procstat import start_time


def alive(pid: int, started: int) -> bool:
    return pid > 0 and started > 0 and start_time(pid) == started


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
