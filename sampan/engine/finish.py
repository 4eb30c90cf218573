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


def finish(ctx: Context, cid: str, code: int, runtime=None, notify=None, restart_delay: float = 0.0) -> dict:
    """Record the exit (with OOM-kill from the cgroup, read before it is removed), tell the
    attached client through notify(info), then clean up.

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
        if notify:
            notify(info)
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
    if notify:
        notify(info)
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


def main(arg: str) -> None:
    from sampan.engine.monitor_loop import send_exit, unpack
    from sampan.state.paths import Paths

    job = unpack(arg)
    ctx = Context(Paths.from_env(job["root"], job["runroot"]), job["runtime"])
    clients = [socket.socket(fileno=fd) for fd in job["clients"]]
    finish(ctx, job["cid"], job["code"], notify=lambda info: send_exit(clients, info),
           restart_delay=job.get("restart_delay", 0.0))
    os._exit(0)
