"""`rm -f` of many containers: kill them all at once, then remove them one by one.

Removed one at a time, each running container costs a wait for its detached monitor to
wake, exec a fresh interpreter into its cleanup, and exit (~70 ms, most of it that
interpreter's start), and a background process of its own for its network teardown.
Here every container and its idle (lean) monitor are SIGKILLed first, together, and
waited for together; the removals that follow find them dead and clean up in this
process, and their sandboxes go to one background teardown (networking.batched_releases).
A monitor that is not lean yet (its container started less than a moment ago, or a
foreground run's) is left to record the exit itself, as a single `rm -f` does.
"""

from __future__ import annotations

import os
import signal
import time

from sampan.engine import events, procs
from sampan.engine.context import Context
from sampan.engine.records import ContainerRecord
from sampan.engine.status import status_of

LEAN_MARK = b"monitor_loop import lean_main"


def _is_lean_monitor(rec: ContainerRecord) -> bool:
    try:
        with open(f"/proc/{rec.monitor_pid}/cmdline", "rb") as f:
            cmd = f.read()
    except OSError:
        return False
    return LEAN_MARK in cmd and procs.alive(rec.monitor_pid, rec.monitor_start)


def kill_all(ctx: Context, recs: list[ContainerRecord], timeout: float = 10) -> None:
    """SIGKILL every running container of recs (and its lean monitor), then wait until
    they are gone. Records are left as they are: the removal follows."""
    waiting = []
    for rec in recs:
        st = status_of(rec)
        if not st.running:
            continue
        lean = _is_lean_monitor(rec)
        alive = procs.alive(rec.pid, rec.pid_start)  # before its monitor goes: it may take PID 1 along
        if lean:
            _signal(rec.monitor_pid)
        if alive:
            events.container_event(ctx, rec, "kill", signal=int(signal.SIGKILL))  # before its die
            _signal(rec.pid)
            if st.paused:
                from sampan.engine.pause import thaw_if_frozen
                thaw_if_frozen(ctx, rec)  # a frozen process takes the signal once thawed
        if lean:
            events.container_event(ctx, rec, "die", exitCode=128 + signal.SIGKILL)  # its monitor cannot
        waiting.append(rec)
    deadline = time.monotonic() + timeout
    while waiting and time.monotonic() < deadline:
        waiting = [r for r in waiting if procs.alive(r.pid, r.pid_start)]
        if waiting:
            time.sleep(0.005)


def _signal(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
