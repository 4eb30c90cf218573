"""A container whose monitor died: stop it and write down why.

The monitor is the container's parent (so the only process that can collect its
exit status) and holds the only read ends of its stdout/stderr pipes or its pty
master. Once the monitor is gone (kill -9, the OOM killer), a new one cannot take
over without losing data: it cannot become the container's parent, so it never
learns the exit code, and whatever the container wrote since went nowhere (its
writes fail with EPIPE or SIGPIPE; EIO on a pty). So the container is stopped and
recorded as exited, the reason in State.Error, by the first command that notices:
ps, inspect, logs, wait, stop, start, rm... With the native runtime the kernel has
already killed it (its init's parent-death signal, runtime/child.py); with runc
or crun this module kills it. containerd does the same when a shim dies.
"""

from __future__ import annotations

import os
import signal
import time

from sampan.engine import procs, runstate
from sampan.engine.context import Context
from sampan.engine.records import ContainerRecord, now_rfc3339
from sampan.engine.status import status_of
from sampan.errors import ContainerNotFound, SampanError

MONITOR_DIED = "monitor process died; container stopped"
EXIT_CODE = 137  # what the container got: SIGKILL, from the kernel (native) or from here


def noticed(ctx: Context, rec: ContainerRecord) -> ContainerRecord | None:
    """rec as it is now: settled first if its monitor died (None when it is gone: removed
    since it was read, or by --rm once settled)."""
    st = status_of(rec)  # (it reads rec again before it calls a monitor lost)
    if st.removed:
        return None
    return settle(ctx, rec) if st.monitor_lost else rec


def found(ctx: Context, ref: str) -> ContainerRecord:
    """The container ref names, as it is now (noticed): one whose monitor died is stopped
    and recorded first; one that --rm removed meanwhile is not found."""
    rec = noticed(ctx, ctx.containers.find(ref))
    if rec is None:
        raise removed_by_rm(ref)
    return rec


def removed_by_rm(name: str) -> ContainerNotFound:
    return ContainerNotFound(f"No such container: {name} (it exited and, run with --rm, was removed)")


def all_noticed(ctx: Context) -> list[ContainerRecord]:
    """Every container, those whose monitor died stopped and recorded first."""
    return [cur for cur in (noticed(ctx, rec) for rec in ctx.containers.all()) if cur is not None]


def settle(ctx: Context, rec: ContainerRecord) -> ContainerRecord | None:
    """Stop and record a container whose monitor died (a no-op for any other). Returns the
    record as it now is: None when --rm removed it. Never call it holding the container's
    lock: it takes that lock."""
    with ctx.container_lock(rec.id) as lock:
        cur = ctx.containers.get(rec.id)
        if cur is None:
            return None
        st = status_of(cur)
        if st.removed:
            return None
        if not st.monitor_lost:
            return cur  # another command settled it, or it was never lost
        runtime = ctx.runtime_for(cur)
        _kill(cur, runtime)
        _note_in_log(ctx, cur)
        if cur.config.get("auto_remove"):
            # as the monitor's own finish would: gone, the exit code kept for `wait`
            ctx.containers.delete(cur.id, exit_code=EXIT_CODE)
        else:
            ctx.containers.update(cur.id, state="exited", exit_code=EXIT_CODE, error=MONITOR_DIED,
                                  finished_at=now_rfc3339())
        from sampan.engine.events import container_event
        container_event(ctx, cur, "die", exitCode=EXIT_CODE)  # its monitor could not write it
        if cur.config.get("auto_remove"):
            container_event(ctx, cur, "destroy")
        runstate.cleanup_after_exit(ctx, cur, runtime)
        if cur.config.get("auto_remove"):
            lock.discard()
            return None
        return ctx.containers.get(cur.id)


def _kill(rec: ContainerRecord, runtime) -> None:
    """SIGKILL everything in the container and wait (a few seconds at most) for its init to
    go; its parent now is the host's init or a subreaper, which reaps it."""
    if not procs.alive(rec.pid, rec.pid_start):
        return
    try:
        runtime.kill(rec.id, signal.SIGKILL, all=True)
    except SampanError:
        try:
            os.kill(rec.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 10
    while procs.alive(rec.pid, rec.pid_start) and time.monotonic() < deadline:
        time.sleep(0.01)


def _note_in_log(ctx: Context, rec: ContainerRecord) -> None:
    """The log ends where the monitor died: say so in it, so `logs` does not just stop."""
    from sampan.engine.logs import LogWriter

    log = rec.config.get("log") or {}
    try:
        w = LogWriter(ctx.container_files(rec.id)["log"], log.get("max_size", 10 << 20),
                      log.get("max_files", 3))
        w.write("stderr", f"sampan: {MONITOR_DIED}; its output after that was not logged\n".encode())
        w.close()
    except OSError:
        pass  # (its directory is gone, or the disk is full) the record says it anyway
