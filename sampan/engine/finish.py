"""The monitor's last phase: record how the container exited, clean up, tell attached clients.

Shared by the in-process monitor (foreground runs) and by a detached container's
lean monitor, which execs into this module's main() when its container exits.
"""

from __future__ import annotations

import os
import socket
import traceback

from sampan.engine import events, runstate
from sampan.engine.context import Context
from sampan.engine.records import now_rfc3339


def finish(ctx: Context, cid: str, code: int, runtime=None, notify=None, restart_delay: float = 0.0,
           listener=None) -> dict:
    """Record the exit (with OOM-kill from the cgroup, read before it is removed), tell the
    attached client through notify(info), then clean up.

    listener: the container's attach socket. A client that connected after the pump stopped
    accepting (the C idle monitor accepts none; every pump stops at the exit) waits in its
    backlog: once the exit is recorded its path goes (a later attach finds a stopped
    container) and each client still queued is told the exit too.

    The client is told as soon as the record says what `ps` and `inspect` should say
    (exited; or gone, for --rm), so `run` returns while mounts and cgroups are still
    being released: every step of that cleanup is idempotent and `rm -f` finishes it.
    A container whose restart policy says so is recorded `restarting` instead, and this
    process starts it again once released (restart.py); restart_delay is its last wait.
    """
    table = ctx.containers
    rec = table.get(cid)
    info = {"exit_code": code, "oom_killed": False}
    if rec is None:
        late = _late_clients(ctx, cid, listener)
        if notify:
            notify(info)
        _tell(late, info)
        return info
    runtime = runtime or ctx.runtime_for(rec)
    try:
        info["oom_killed"] = code == 137 and runtime.oom_killed(cid)
    except Exception:
        pass
    delay = None
    if "restart_policy" in rec.config:
        from sampan.engine.restart import plan
        delay = plan(ctx, rec, code, restart_delay)
    if rec.config.get("auto_remove"):
        table.delete(cid, exit_code=code)  # gone, its exit code kept for `wait`: one write, not two
    elif delay is not None:
        table.update(cid, state="restarting", exit_code=code, finished_at=now_rfc3339(),
                     oom_killed=info["oom_killed"], restart_count=rec.restart_count + 1)
    else:
        table.update(cid, state="exited", exit_code=code, finished_at=now_rfc3339(),
                     oom_killed=info["oom_killed"])
    if "healthcheck" in rec.config:
        from sampan.engine.health_state import stopped
        stopped(ctx, cid)
    events.container_event(ctx, rec, "die", exitCode=code)
    if rec.config.get("auto_remove"):
        events.container_event(ctx, rec, "destroy")
    late = _late_clients(ctx, cid, listener)
    if notify:
        notify(info)
    _tell(late, info)
    try:
        runstate.cleanup_after_exit(ctx, rec, runtime)
    except Exception:
        traceback.print_exc()
    if rec.config.get("auto_remove"):
        with ctx.container_lock(cid) as lock:  # after a start or rm that held it is done
            lock.discard()
    if delay is not None:
        from sampan.engine.restart import resume
        resume(ctx, cid, delay)
    return info


def _late_clients(ctx: Context, cid: str, listener) -> list:
    """Unlink the attach socket's path (no new client can queue), then accept every client
    queued before that."""
    if listener is None:
        return []
    try:
        os.unlink(ctx.attach_socket(cid))  # (a start waits for this monitor: never the next run's)
    except FileNotFoundError:
        pass
    out = []
    listener.setblocking(False)
    while True:
        try:
            c, _ = listener.accept()
        except OSError:  # BlockingIOError: none left
            break
        c.setblocking(True)
        out.append(c)
    listener.close()
    return out


def _tell(clients: list, info: dict) -> None:
    from sampan.engine.monitor_loop import send_exit
    send_exit(clients, info)
    for c in clients:
        c.close()


def main(arg: str) -> None:
    from sampan.engine.monitor_loop import send_exit, unpack
    from sampan.state.paths import Paths

    job = unpack(arg)
    ctx = Context(Paths.from_env(job["root"], job["runroot"]), job["runtime"])
    clients = [socket.socket(fileno=fd) for fd in job["clients"]]
    listener = None
    if job.get("listener") is not None:
        try:
            listener = socket.socket(fileno=job["listener"])
        except OSError:
            pass  # (not open: the container's clients are told by the record alone)
    finish(ctx, job["cid"], job["code"], notify=lambda info: send_exit(clients, info),
           restart_delay=job.get("restart_delay", 0.0), listener=listener)
    os._exit(0)
