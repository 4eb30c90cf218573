"""The monitor's last phase: record how the container exited, clean up, tell attached clients.

Shared by the in-process monitor (foreground runs) and by a detached container's
lean monitor, which execs into this module's main() when its container exits.
"""

from __future__ import annotations

import os
import socket
import traceback

from sampan.engine import runstate
from sampan.engine.context import Context
from sampan.engine.records import now_rfc3339


def finish(ctx: Context, cid: str, code: int, runtime=None) -> dict:
    """Record the exit (with OOM-kill from the cgroup, read before it is removed) and clean up."""
    table = ctx.containers
    rec = table.get(cid)
    if rec is None:
        return {"exit_code": code, "oom_killed": False}
    runtime = runtime or ctx.runtime_for(rec)
    oom = False
    try:
        oom = code == 137 and runtime.oom_killed(cid)
    except Exception:
        pass
    table.update(cid, state="exited", exit_code=code, finished_at=now_rfc3339(), oom_killed=oom)
    try:
        runstate.cleanup_after_exit(ctx, table.get(cid) or rec, runtime)
    except Exception:
        traceback.print_exc()
    return {"exit_code": code, "oom_killed": oom}


def main(arg: str) -> None:
    from sampan.engine.monitor_loop import send_exit, unpack
    from sampan.state.paths import Paths

    job = unpack(arg)
    ctx = Context(Paths.from_env(job["root"], job["runroot"]), job["runtime"])
    info = finish(ctx, job["cid"], job["code"])
    clients = [socket.socket(fileno=fd) for fd in job["clients"]]
    send_exit(clients, info)
    os._exit(0)
