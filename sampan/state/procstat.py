"""Who a pid is: /proc/PID/stat's state letter and start time. A pid alone can be
reused; a pid with its start time (field 22) names one process for good."""

from __future__ import annotations


def proc_stat(pid: int) -> tuple[str, int] | None:
    """(state letter, start time in clock ticks since boot) of pid, or None if there is none."""
    if pid <= 0:
        return None
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    # comm may contain spaces and parens: split after the last ')'
    fields = data[data.rfind(b")") + 2:].split()
    try:
        return fields[0].decode(), int(fields[19])
    except (IndexError, ValueError):
        return None


def start_time(pid: int) -> int:
    """The start time of a live process, or 0 if it does not exist or has finished
    (a zombie or a dead task only waits for its parent's wait)."""
    st = proc_stat(pid)
    if st is None or st[0] in ("Z", "X"):
        return 0
    return st[1]
