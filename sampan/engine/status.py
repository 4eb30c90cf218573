"""A container's true status, from the kernel rather than from what was written down.

One place answers "what is it now?" and "can I start / stop / remove it?" (Status's
properties: the verbs never compare the state string themselves).
The monitor records the exit. If the monitor itself died, the record still says
running: `monitor_lost` says so, and the engine stops and records such a container
as soon as a command looks at it (engine/monitor_lost.py).

A record read a moment before its monitor wrote the exit and ended looks the same as a
lost one. So a verdict that rests on a monitor being gone is given only after the record
is read again (the monitor writes before it ends): every caller of status_of gets the
exit as recorded, never a lost monitor's 255 that was never true.
"""

from __future__ import annotations

from sampan.engine import procs
from sampan.engine.records import ContainerRecord

CREATED, RUNNING, EXITED = "created", "running", "exited"
RESTARTING = "restarting"  # exited; its monitor waits out the restart policy's delay, then starts it

PAUSED = "paused"  # Docker's State.Status of a running container whose processes are frozen

EXIT_UNKNOWN = 255  # the monitor died before it could record the exit code


class Status:
    __slots__ = ("state", "exit_code", "monitor_alive", "lost", "monitor_lost", "paused", "removed")

    def __init__(self, state: str, exit_code: int, monitor_alive: bool, lost: bool = False,
                 monitor_lost: bool = False, paused: bool = False, removed: bool = False) -> None:
        self.state = state                  # created | running | exited | restarting
        self.exit_code = exit_code
        self.monitor_alive = monitor_alive
        self.lost = lost                    # exited, but nobody saw how (monitor was killed)
        self.monitor_lost = monitor_lost    # recorded running, but its monitor is gone
        self.paused = paused                # running, its processes frozen (engine/pause.py)
        self.removed = removed              # its record is gone (--rm, rm) since it was read

    @property
    def docker_state(self) -> str:
        """Docker's State.Status: a paused container is still running, but says paused."""
        return PAUSED if self.paused else self.state

    # The questions the verbs ask, answered here only (never by comparing `state`).
    @property
    def running(self) -> bool:
        """Its process runs (or just exited and its monitor is recording that): stop, kill,
        exec, pause, stats and port apply; start is a no-op; rm needs force."""
        return self.state == RUNNING

    @property
    def starting(self) -> bool:
        """Created, with a monitor setting it up right now: another start is refused and
        rm needs force; wait waits for it to run and exit."""
        return self.state == CREATED and self.monitor_alive

    @property
    def exited(self) -> bool:
        return self.state == EXITED

    @property
    def restarting(self) -> bool:
        """Exited, its monitor waiting out the restart policy's delay: Docker shows it
        Running and Restarting; stop cancels the restart; rm needs force."""
        return self.state == RESTARTING


_READS_AGAIN = 3  # a record that keeps changing under us (restarts) is judged as last read


def status_of(rec: ContainerRecord) -> Status:
    """What rec's container is now. When the verdict rests on its monitor being gone, rec
    (read from its table) is read again first and brought up to date in place."""
    st = _judge(rec)
    for _ in range(_READS_AGAIN):
        if st.monitor_alive or rec.state not in (RUNNING, RESTARTING):
            break  # nothing here depends on a monitor that might have just ended
        changed = rec.read_again()  # after we saw the monitor gone: it wrote before it ended
        if changed is None:
            return _removed(rec)
        if not changed:
            break  # as recorded: its monitor really is gone
        st = _judge(rec)
    return st


def _removed(rec: ContainerRecord) -> Status:
    """Its record went (--rm's finish, or rm) after it was read: exited, with the exit code
    --rm keeps for `wait` when there is one."""
    assert rec.table is not None  # only a record read from a table can find its row gone
    code = rec.table.exit_code_of_removed(rec.id)
    return Status(EXITED, EXIT_UNKNOWN if code is None else code, False, removed=True)


def _judge(rec: ContainerRecord) -> Status:
    monitor_alive = procs.alive(rec.monitor_pid, rec.monitor_start)
    if rec.state == RUNNING:
        if procs.alive(rec.pid, rec.pid_start):
            # Without its monitor nobody logs it or will see it exit: not for long (see
            # monitor_lost.py); until then it does run.
            from sampan.engine.pause import is_frozen  # the kernel's word, a file read
            return Status(RUNNING, 0, monitor_alive, monitor_lost=not monitor_alive,
                          paused=is_frozen(rec.id, rec.config.get("cgroup_parent")))
        if monitor_alive:
            # Exited a moment ago: the monitor is recording it. Report it as running
            # until the record lands, so `wait` reads a real exit code.
            return Status(RUNNING, 0, True)
        return Status(EXITED, EXIT_UNKNOWN, False, lost=True, monitor_lost=True)
    if rec.state == EXITED:
        return Status(EXITED, rec.exit_code, monitor_alive)
    if rec.state == RESTARTING:
        # Without its monitor (killed, a reboot) nobody will start it: it stays exited.
        return Status(RESTARTING if monitor_alive else EXITED, rec.exit_code, monitor_alive)
    # created: a monitor may be setting it up right now
    return Status(CREATED, rec.exit_code, monitor_alive)
