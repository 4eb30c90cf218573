"""start, stop, kill, wait, remove: the verbs on an existing container (restart is
Engine.restart, a stop then a start). A start takes the container's lock, prepares
(cgroup, mount, network, bundle: engine/runstate.py and engine/bundle.py) and forks the
monitor (engine/monitor.py), which runs the runtime and, at the exit, engine/finish.py."""

from __future__ import annotations

import json
import os
import select
import signal
import time

from sampan.engine import attach, events, procs, runstate
from sampan.engine.context import Context
from sampan.engine.create import parse_signal
from sampan.engine.monitor import MonitorJob, spawn
from sampan.engine.records import ContainerRecord
from sampan.engine.status import CREATED, RESTARTING, status_of
from sampan.state import explain
from sampan.errors import (CommandNotExecutable, CommandNotFound, ContainerNotFound, InvalidState, NoSpace,
                           RuntimeFailure)
from sampan.runtime.base import OCIRuntime, cgroups_path

_ERRORS = {"CommandNotFound": CommandNotFound, "CommandNotExecutable": CommandNotExecutable,
           "NoSpace": NoSpace}


class Started:
    __slots__ = ("pid", "conn")

    def __init__(self, pid: int, conn=None) -> None:
        self.pid = pid
        self.conn = conn  # the attach socket when attached


def start(ctx: Context, rec: ContainerRecord, *, attach_client: bool = False,
          open_stdin: bool | None = None) -> Started:
    """Spawn the container's monitor; return once the container runs (or failed to).

    The container's lock is held until the monitor has answered, so a second `start`
    (or `rm`) waits and then sees the container running instead of racing its setup.
    """
    with ctx.container_lock(rec.id):
        rec = ctx.containers.get(rec.id) or rec
        st = status_of(rec)
        if st.running and st.monitor_alive and not procs.alive(rec.pid, rec.pid_start):
            rec, st = _await_exit_record(ctx, rec, st)  # it just exited: start it again, as Docker
        if (st.running or st.restarting):
            if not attach_client:
                return Started(pid=rec.pid)  # as Docker: starting a running container is a no-op
            raise InvalidState(f"container {rec.name} is already running")
        if st.starting:
            raise InvalidState(f"container {rec.name} is being started by another command")
        if st.monitor_alive:
            _await_cleanup(rec)
        if rec.state != CREATED:
            # A start by the user, as Docker's: the policy's count begins again, and an
            # earlier `stop` no longer holds `unless-stopped` back.
            from sampan.engine.restart_policy import mark_stopped
            mark_stopped(ctx.paths.container_dir(rec.id), False)
            if rec.restart_count:
                ctx.containers.update(rec.id, restart_count=0)
        return start_locked(ctx, rec, st, attach_client=attach_client, open_stdin=open_stdin)


def start_locked(ctx: Context, rec: ContainerRecord, st, *, attach_client: bool = False,
                 open_stdin: bool | None = None, restart_delay: float = 0.0) -> Started:
    """The start itself, the container's lock held: by start() above, or by the monitor that
    restarts the container it ran (restart.py), with the delay it waited."""
    if st.lost:
        runstate.cleanup_after_exit(ctx, rec)
    _prepare_cgroup(ctx.runtime_for(rec), rec)  # a failed start removes it (cleanup_after_exit)
    sandbox = _prepare(ctx, rec)
    _volume_mount_events(ctx, rec)
    job = MonitorJob(rec, sandbox, attach_wait=attach_client,
                     open_stdin=rec.config["open_stdin"] if open_stdin is None else open_stdin,
                     tty=rec.config["tty"], restart_delay=restart_delay)
    try:
        status_fd, _ = spawn(ctx, job)
    except BaseException as e:
        _undo_start(ctx, rec, e)  # prepared, but no monitor to run it
        raise
    finally:
        sandbox.close()  # the monitor holds the host ports now
    return _await_monitor(ctx, rec, status_fd, attach_client)  # the monitor wrote "start"


def _volume_mount_events(ctx: Context, rec: ContainerRecord) -> None:
    for m in rec.config.get("mounts") or ():
        if m["kind"] == "volume":
            events.emit(ctx, "volume", "mount", m["source"], {
                "container": rec.id, "destination": m["destination"], "driver": "local",
                "propagation": "", "read/write": "false" if m["readonly"] else "true"})


def _prepare_cgroup(runtime: OCIRuntime, rec: ContainerRecord) -> None:
    """The runtime moves the container into its cgroup ~12 ms from now, and that move
    waits an RCU grace period unless one passed just before (runtime/cgroups/prime.py):
    the runtime starts it now (and the native one makes the cgroup first)."""
    runtime.prepare_cgroup(cgroups_path(rec.id, rec.config.get("cgroup_parent")))


def _prepare(ctx: Context, rec: ContainerRecord):
    """Mount, network and bundle, here rather than in the monitor: this process has the
    database and the image open already. A failure is written down and undone."""
    try:
        return runstate.prepare_start(ctx, rec)
    except BaseException as e:
        _undo_start(ctx, rec, e)
        raise


def _undo_start(ctx: Context, rec: ContainerRecord, exc: BaseException) -> None:
    try:
        runstate.record_failed_start(ctx, rec, exc)
    except Exception:
        pass  # the original failure is the one to report; rm -f finishes the cleanup


def _await_monitor(ctx: Context, rec: ContainerRecord, status_fd: int, attach_client: bool) -> Started:
    reader = _StatusReader(status_fd)
    conn = None
    try:
        msg = reader.next()
        if msg.get("phase") == "created":
            if attach_client:
                conn = attach.connect(ctx.attach_socket(rec.id))
            msg = reader.next()
        if "error" in msg:
            cls = _ERRORS.get(str(msg.get("kind")), RuntimeFailure)
            err = cls(msg["error"])
            err.exit_code = msg.get("exit_code", err.exit_code)
            raise err
        if not msg.get("ok"):
            raise RuntimeFailure(f"container {rec.name} did not start: its monitor ended without a word")
        return Started(pid=msg["pid"], conn=conn)
    except BaseException:
        if conn is not None:
            conn.close()
        raise
    finally:
        reader.close()


class _StatusReader:
    def __init__(self, fd: int):
        self.fd, self.buf = fd, b""

    def next(self, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                raise RuntimeFailure("the container's monitor did not answer within 60 s")
            chunk = os.read(self.fd, 4096)
            if not chunk:
                return {}
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def close(self) -> None:
        os.close(self.fd)


def kill(ctx: Context, rec: ContainerRecord, sig: int | str = "SIGKILL") -> None:
    signum = parse_signal(str(sig)) if not isinstance(sig, int) else sig
    _mark_stopped(ctx, rec)  # before the signal: its monitor must not restart it
    st = status_of(rec)
    if st.restarting:
        cur = _cancel_restart(ctx, rec)
        if cur is None:
            return
        rec, st = cur, status_of(cur)
    if not st.running:
        raise InvalidState(f"container {rec.name} is not running")
    # the event before the signal: the monitor writes `die` as soon as the process is gone
    # (Docker's order: its kill holds the container lock that the exit's handling waits for)
    events.container_event(ctx, rec, "kill", signal=signum)
    try:
        os.kill(rec.pid, signum)
    except ProcessLookupError:
        pass
    _thaw_if_paused(ctx, rec)  # a frozen process takes the signal once thawed (Docker's way)
    if signum == signal.SIGKILL:
        # Docker's kill with SIGKILL returns once the container is not running (10 s at
        # most): a `rm` right after it must not find it running
        try:
            wait(ctx, rec, timeout=KILL_WAIT)
        except TimeoutError:
            raise RuntimeFailure(f"tried to kill container {rec.name}, but did not receive an exit event "
                                 f"within {KILL_WAIT}s: {_why_not_gone(rec)}") from None


KILL_WAIT = 10  # seconds `kill` (SIGKILL) waits for the container to be gone, as Docker


def _await_exit_record(ctx: Context, rec: ContainerRecord, st, timeout: float = 15):
    """A container whose process is gone, its monitor recording the exit (a few ms): the
    record and status once it has (or as they are at the timeout)."""
    deadline = time.monotonic() + timeout
    while st.running and time.monotonic() < deadline:
        time.sleep(0.005)
        cur = ctx.containers.get(rec.id)
        if cur is None:
            from sampan.engine.monitor_lost import removed_by_rm
            raise removed_by_rm(rec.name)
        rec, st = cur, status_of(cur)
        if st.running and procs.alive(rec.pid, rec.pid_start):
            break  # running again (its restart policy started it)
    return rec, st


def _await_cleanup(rec: ContainerRecord, timeout: float = 15) -> None:
    """The last run's monitor records the exit first and cleans up after (unmounts the
    root, releases the network): a start (a restart) right after the exit must let it
    finish, or that cleanup undoes what this start sets up."""
    deadline = time.monotonic() + timeout
    while procs.alive(rec.monitor_pid, rec.monitor_start) and time.monotonic() < deadline:
        time.sleep(0.01)


def wait(ctx: Context, rec: ContainerRecord, timeout: float | None = None) -> int:
    """Block until the container is not running; return its exit code."""
    deadline = None if timeout is None else time.monotonic() + timeout
    pidfd = None
    try:
        if rec.pid and procs.alive(rec.pid, rec.pid_start):
            try:
                pidfd = os.pidfd_open(rec.pid)
            except OSError:
                pidfd = None
        while True:
            cur = ctx.containers.get(rec.id)
            if cur is None:  # removed (--rm): its exit code was kept for us
                code = ctx.containers.exit_code_of_removed(rec.id)
                return rec.exit_code if code is None else code
            st = status_of(cur)
            if st.removed:
                continue  # (the next read says so, with the exit code --rm kept)
            if st.monitor_lost:  # nobody will record its exit: stop it and record why
                from sampan.engine.monitor_lost import settle
                settle(ctx, cur)
                continue
            if not st.running and not st.starting:
                return st.exit_code
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError
            if pidfd is not None and procs.alive(cur.pid, cur.pid_start):
                select.select([pidfd], [], [], 0.5)
            else:
                time.sleep(0.01)
    finally:
        if pidfd is not None:
            os.close(pidfd)


def stop(ctx: Context, rec: ContainerRecord, timeout: int | None = None) -> str | None:
    """Send the stop signal, then SIGKILL after timeout. Returns a note for the user, or None."""
    _mark_stopped(ctx, rec)  # before the signal: its monitor must not restart it
    st = status_of(rec)
    if st.restarting:
        cur = _cancel_restart(ctx, rec)  # the running container, if the restart won the race
        if cur is None:
            return None
        rec = cur
    elif not st.running:
        return None
    note = _stop_running(ctx, rec, timeout)
    cur = ctx.containers.get(rec.id)
    if cur is not None and cur.state == RESTARTING:  # its monitor decided just before the mark
        _cancel_restart(ctx, cur)
    return note


def _mark_stopped(ctx: Context, rec: ContainerRecord) -> None:
    """Docker's HasBeenManuallyStopped, for every container: a policy may be set later. A
    full disk must not keep anyone from stopping a container: only one that would be
    restarted needs the mark (and then says why it cannot)."""
    from sampan.engine.restart_policy import mark_stopped
    try:
        mark_stopped(ctx.paths.container_dir(rec.id), True)
    except OSError:
        if "restart_policy" in rec.config:
            raise


def _cancel_restart(ctx: Context, rec: ContainerRecord) -> ContainerRecord | None:
    """Cancel a restart in waiting; the record when the restart came first (it runs)."""
    from sampan.engine.restart import cancel
    return cancel(ctx, rec)


def _stop_running(ctx: Context, rec: ContainerRecord, timeout: int | None) -> str | None:
    if timeout is None:  # the container's --stop-timeout: 0 kills at once, -1 waits for good (Docker)
        timeout = rec.config.get("stop_timeout")
        timeout = 10 if timeout is None else timeout
    t = None if timeout < 0 else timeout
    sig = parse_signal(rec.config.get("stop_signal"))
    events.container_event(ctx, rec, "kill", signal=sig)  # before the signal, as kill()
    try:
        os.kill(rec.pid, sig)
    except ProcessLookupError:
        pass
    _thaw_if_paused(ctx, rec)
    try:
        wait(ctx, rec, timeout=t)
        events.container_event(ctx, rec, "stop")
        return None
    except TimeoutError:
        pass
    events.container_event(ctx, rec, "kill", signal=int(signal.SIGKILL))
    try:
        os.kill(rec.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        wait(ctx, rec, timeout=KILL_GRACE)
    except TimeoutError:
        raise RuntimeFailure(f"container {rec.name} was sent SIGKILL after {t}s but has not exited "
                             f"{KILL_GRACE}s later: {_why_not_gone(rec)}") from None
    events.container_event(ctx, rec, "stop")
    argv = rec.config.get("argv") or []
    name = signal.Signals(sig).name
    if len(argv) >= 2 and argv[0] in ("/bin/sh", "sh", "/bin/bash", "bash") and argv[1] == "-c":
        return (f"container {rec.name} ignored {name} for {t}s and was killed: its command runs as "
                f"`{argv[0]} -c ...`, and a shell as PID 1 does not pass signals on; use the exec form "
                f'CMD ["prog", "arg"] or start the command with `exec`')
    return f"container {rec.name} did not exit within {t}s of {name} and was killed"


KILL_GRACE = 30  # seconds a SIGKILLed container gets to be gone before stop gives up


def _why_not_gone(rec: ContainerRecord) -> str:
    """What a user can check when SIGKILL did not end a container: a process the kernel
    holds (state D, e.g. a hung NFS or FUSE mount) or an exit its monitor never recorded."""
    if procs.alive(rec.pid, rec.pid_start):
        try:
            with open(f"/proc/{rec.pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            state = "?"
        why = {"D": " (waiting in the kernel, often on a hung mount: it ends when that returns)",
               "Z": " (a zombie its parent has not reaped)"}.get(state, "")
        return f"its process {rec.pid} is still there in state {state}{why}"
    return (f"its process is gone but its exit was not recorded: `sampan rm -f {rec.name}` "
            "cleans it up")


def remove(ctx: Context, rec: ContainerRecord, force: bool = False, volumes: bool = False) -> None:
    with ctx.container_lock(rec.id) as lock:
        current = ctx.containers.get(rec.id)
        if current is None:  # another command removed it while we waited for the lock
            raise ContainerNotFound(f"No such container: {rec.name} (it was just removed)")
        rec = current
        st = status_of(rec)
        held = runstate.held_by(ctx, rec) if explain.on() else None  # before a monitor releases it
        if st.restarting:
            if not force:
                raise InvalidState(f"container {rec.name} is restarting: stop it first, or use `rm -f`")
            _kill_monitor(rec, at_once=True)  # it only waits out its delay; we hold the lock it needs
        if st.running:
            if not force:
                raise InvalidState(f"container {rec.name} is running: stop it first, or use `rm -f`")
            _mark_stopped(ctx, rec)
            _force_kill(ctx, rec)
        if st.starting and not force:
            raise InvalidState(f"container {rec.name} is starting: try again, or use `rm -f`")
        if st.monitor_alive:
            _kill_monitor(rec)
        runstate.cleanup_after_exit(ctx, rec, explained=False)
        runstate.remove_files(ctx, rec)
        if held is not None:
            from sampan.engine.explain_steps import released
            released(rec, held, ctx.container_files(rec.id), True, network=True)
        from sampan.engine import networking
        networking.forget(ctx, rec)  # records a full disk kept, now that its files are gone
        ctx.containers.delete(rec.id)
        lock.discard()
        events.container_event(ctx, rec, "destroy")
        if volumes:
            runstate.remove_anonymous_volumes(ctx, rec)


def _thaw_if_paused(ctx: Context, rec: ContainerRecord) -> None:
    from sampan.engine.pause import thaw_if_frozen
    thaw_if_frozen(ctx, rec)


def _force_kill(ctx: Context, rec: ContainerRecord) -> None:
    try:
        os.kill(rec.pid, 0)
    except ProcessLookupError:
        return
    events.container_event(ctx, rec, "kill", signal=int(signal.SIGKILL))  # before: see kill()
    try:
        os.kill(rec.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    explain.explain("kill", f"SIGKILL to PID 1 (host pid {rec.pid}): the kernel ends every process of its pid namespace")
    _thaw_if_paused(ctx, rec)
    if procs.alive(rec.monitor_pid, rec.monitor_start):
        try:
            wait(ctx, rec, timeout=10)
        except TimeoutError:
            pass
    else:
        # Nobody will reap it for us; wait for the kernel to finish it.
        try:
            runtime = ctx.runtime_for(rec)
            runtime.kill(rec.id, signal.SIGKILL, all=True)
        except Exception:
            pass
        deadline = time.monotonic() + 5
        while procs.alive(rec.pid, rec.pid_start) and time.monotonic() < deadline:
            time.sleep(0.01)


def _kill_monitor(rec: ContainerRecord, at_once: bool = False) -> None:
    deadline = time.monotonic() + (0 if at_once else 5)
    while procs.alive(rec.monitor_pid, rec.monitor_start) and time.monotonic() < deadline:
        time.sleep(0.01)
    if procs.alive(rec.monitor_pid, rec.monitor_start):
        try:
            os.kill(rec.monitor_pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + 5
        while procs.alive(rec.monitor_pid, rec.monitor_start) and time.monotonic() < deadline:
            time.sleep(0.01)
