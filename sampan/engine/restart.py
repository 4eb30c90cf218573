"""Restarting a container by its policy: the monitor that saw it exit starts it again.

The monitor records the exit as `restarting` (State.Restarting, `Restarting (1) 2 seconds
ago` in ps), releases the run as for any exit, waits the policy's delay, then, under the
container's lock, starts the same container again (same RW layer; the network sandbox is
made again) through lifecycle.start_locked, which forks the next monitor. A `stop`, `kill`
or `rm -f` meanwhile cancels the restart: `cancel` kills the waiting monitor under the lock
(so never during the start itself) and records the container exited.
"""

from __future__ import annotations

import os
import signal
import sys
import time
import traceback

from sampan.engine import procs, runstate
from sampan.engine.context import Context
from sampan.engine.records import ContainerRecord
from sampan.engine.restart_policy import next_delay, stopped_by_user, wants_restart
from sampan.engine.status import RESTARTING
from sampan.oci.times import parse_time


def plan(ctx: Context, rec: ContainerRecord, code: int, last_delay: float) -> float | None:
    """At an exit: the delay before the restart, or None when the container stays exited.
    A user's stop or kill (the mark) cancels the restart whatever the policy, as Docker's."""
    policy = rec.config.get("restart_policy")
    if not policy or stopped_by_user(ctx.paths.container_dir(rec.id)):
        return None
    if not wants_restart(policy, code, rec.restart_count, False):
        return None
    ran_for = time.time() - parse_time(rec.started_at) if rec.started_at else 0.0
    return next_delay(last_delay, ran_for)


# A longer wait is spent in a bare interpreter (a few MiB) rather than in this one (~13 MiB
# PSS with the engine loaded): a container in a crash loop waits up to a minute each time.
LEAN_WAIT = 1.0


def resume(ctx: Context, cid: str, delay: float) -> None:
    """In the monitor, once the exit is recorded and the run released: wait, then start."""
    if delay >= LEAN_WAIT:
        try:
            _wait_lean(ctx, cid, delay)  # does not return: execs, and execs back into main()
        except OSError:
            traceback.print_exc()  # (the exec failed) wait here instead
    time.sleep(delay)
    start_after_wait(ctx, cid, delay)


def _wait_lean(ctx: Context, cid: str, delay: float) -> None:
    from sampan.engine.monitor_loop import pack
    from sampan.state.db import close_all
    close_all()
    sys.stderr.flush()
    pkg_parent = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    then = ("import sys; sys.path.insert(0, sys.argv[1]); from sampan.engine.monitor_loop import unpack; "
            "sys.path[:0] = unpack(sys.argv[2]); from sampan.engine.restart import main; main(sys.argv[3])")
    sleeper = ("import os, sys, time; time.sleep(float(sys.argv[1])); "
               "os.execv(sys.executable, [sys.executable, '-I', '-S', '-c'] + sys.argv[2:])")
    job = {"cid": cid, "delay": delay, "root": str(ctx.paths.root), "runroot": str(ctx.paths.runroot),
           "runtime": ctx.default_runtime}
    os.execv(sys.executable, [sys.executable, "-I", "-S", "-c", sleeper, repr(delay), then, pkg_parent,
                              pack(list(sys.path)), pack(job)])


def main(arg: str) -> None:
    """The monitor again after a lean wait: the start itself."""
    from sampan.engine.monitor_loop import unpack
    from sampan.state.paths import Paths
    job = unpack(arg)
    try:
        start_after_wait(Context(Paths.from_env(job["root"], job["runroot"]), job["runtime"]),
                         job["cid"], job["delay"])
    except Exception:
        traceback.print_exc()  # the monitor's log
    os._exit(0)


def start_after_wait(ctx: Context, cid: str, delay: float) -> None:
    """Start the container again unless it was stopped, removed or started meanwhile."""
    from sampan.engine.lifecycle import start_locked
    from sampan.engine.status import status_of
    me = os.getpid()
    with ctx.container_lock(cid):
        rec = ctx.containers.get(cid)
        if rec is None or rec.state != RESTARTING or rec.monitor_pid != me:
            return  # removed, or cancelled and recorded by whoever did it
        if stopped_by_user(ctx.paths.container_dir(cid)):
            ctx.containers.update(cid, state="exited")
            return
        try:
            start_locked(ctx, rec, status_of(rec), restart_delay=delay)
        except Exception as e:
            # recorded exited with the reason by the start itself (runstate.record_failed_start)
            sys.stderr.write(f"sampan: restart of {rec.name} failed: {e}\n")
            if not hasattr(e, "exit_code"):
                traceback.print_exc()


def set_policy(ctx: Context, rec: ContainerRecord, spec: str | dict) -> None:
    """`update --restart`: the new policy in the container's config, under its lock."""
    from sampan.engine.restart_policy import check, parse
    from sampan.errors import InvalidArgument
    policy = parse(spec) if isinstance(spec, str) else check(spec)
    with ctx.container_lock(rec.id):
        cur = ctx.containers.get(rec.id) or rec
        if policy and cur.config.get("auto_remove"):
            raise InvalidArgument("Restart policy cannot be updated because AutoRemove is enabled for the container")
        config = dict(cur.config)
        if policy:
            config["restart_policy"] = policy
        else:
            config.pop("restart_policy", None)
        ctx.containers.update(cur.id, config=config)


def cancel(ctx: Context, rec: ContainerRecord) -> ContainerRecord | None:
    """Stop a restart in waiting: its monitor is killed, the container recorded exited. Under
    the container's lock, so the monitor is never cut off in the middle of a start. Returns
    the record when the restart was done first (the container runs: stop it as any)."""
    with ctx.container_lock(rec.id):
        cur = ctx.containers.get(rec.id)
        if cur is None or cur.state != RESTARTING:
            return cur if cur is not None and cur.state == "running" else None
        if procs.alive(cur.monitor_pid, cur.monitor_start):
            try:
                os.kill(cur.monitor_pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            deadline = time.monotonic() + 5
            while procs.alive(cur.monitor_pid, cur.monitor_start) and time.monotonic() < deadline:
                time.sleep(0.005)
        ctx.containers.update(cur.id, state="exited")
        # it may have been cut off while it released the run: finish that (every step idempotent)
        runstate.cleanup_after_exit(ctx, cur)
        return None


BOOT_ID = "/proc/sys/kernel/random/boot_id"


def restore(ctx: Context) -> list[ContainerRecord]:
    """Once per boot of the host: start the containers Docker's daemon would start as it
    comes up (its policy says so for the last exit; `unless-stopped` not after a user's
    stop; never a container that was never started). Called by `sampan system restore`
    (a oneshot unit at boot) and by `sampan system service` as it starts; the run root
    remembers the boot it was done for, so a service started again (socket activation)
    does not start what a user stopped since. Returns the containers started."""
    from sampan.engine.lifecycle import start
    from sampan.engine.monitor_lost import all_noticed
    from sampan.engine.restart_policy import wants_restart
    from sampan.state.atomic import atomic_write_bytes
    from sampan.errors import SampanError
    try:
        boot = open(BOOT_ID).read().strip()
    except OSError:
        boot = "unknown"
    mark = ctx.paths.runroot / "restored-boot"
    try:
        if mark.read_text() == boot:
            return []
    except OSError:
        pass
    # Two at once (the unit and a service) start nothing twice: a start of a running
    # container does nothing.
    atomic_write_bytes(mark, boot.encode())
    started = []
    for rec in all_noticed(ctx):  # those recorded running across a reboot are settled first
        policy = rec.config.get("restart_policy")
        if not policy or rec.state not in ("exited", RESTARTING) or not rec.started_at:
            continue
        by_user = stopped_by_user(ctx.paths.container_dir(rec.id))
        if not wants_restart(policy, rec.exit_code, rec.restart_count, by_user):
            continue
        try:
            start(ctx, rec)
            started.append(rec)
        except SampanError as e:
            sys.stderr.write(f"sampan: could not start {rec.name}: {e.message}\n")
    return started

