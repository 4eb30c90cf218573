"""One health probe: run the container's healthcheck command inside it, as an exec, and
record the result (health_state.py).

A process of its own per probe, started by the container's monitor on schedule
(monitor_loop.HealthTimer), so the monitor stays small and a probe that hangs cannot
stop it from pumping output. The probe never trusts the command: its output is read
to the end but only the first 4 KiB kept, and past the timeout it is killed (Docker's
"Health check exceeded timeout"). Exit status tells the monitor which interval comes
next: STILL_STARTING while the health is `starting`.
"""

from __future__ import annotations

import os
import select
import signal
import sys
import time

STILL_STARTING = 10
_READ_AFTER_EXIT = 0.2  # a background child of the check may hold the pipe: stop reading then


def go_duration(ns: int) -> str:
    """A duration as Go prints it in Docker's messages: 30s, 500ms, 1m30s, 1h0m0s."""
    if ns < 1_000_000_000:
        return f"{ns / 1e6:g}ms" if ns >= 1_000_000 else f"{ns}ns"
    s = ns / 1e9
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    sec_text = f"{sec:g}s"
    if h:
        return f"{int(h)}h{int(m)}m{sec_text}"
    if m:
        return f"{int(m)}m{sec_text}"
    return sec_text


def command(test: list[str]) -> list[str]:
    return ["/bin/sh", "-c", test[1]] if test[0] == "CMD-SHELL" else list(test[1:])


def run_check(ctx, rec, cfg: dict) -> dict:
    """Exec the check; Docker's HealthcheckResult (Start, End, ExitCode, Output)."""
    from sampan.engine.execute import exec_process
    from sampan.engine.health_state import MAX_OUTPUT, truncate
    from sampan.engine.options import ExecOptions
    from sampan.engine.records import now_rfc3339
    from sampan.runtime.base import Stdio, become_subreaper

    start = now_rfc3339()
    become_subreaper()
    r, w = os.pipe2(os.O_CLOEXEC)
    try:
        process = exec_process(ctx, rec, ExecOptions(rec.id, command(cfg["Test"])))
        created = ctx.runtime_for(rec).exec(rec.id, process, Stdio(stdout=w, stderr=w))
    except Exception as e:
        os.close(r)
        os.close(w)
        return {"Start": start, "End": now_rfc3339(), "ExitCode": -1, "Output": str(e)}
    os.close(w)
    kept, more = bytearray(), False
    deadline = time.monotonic() + cfg["Timeout"] / 1e9
    status = None
    timed_out = False
    stop_reading = None
    while True:
        now = time.monotonic()
        if status is None:
            pid, st = os.waitpid(created.pid, os.WNOHANG)
            if pid:
                status, stop_reading = st, now + _READ_AFTER_EXIT
        if status is None and now >= deadline:
            timed_out = True
            try:
                os.kill(created.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            _, status = os.waitpid(created.pid, 0)
            break
        if stop_reading is not None and now >= stop_reading:
            break
        wait = min(deadline - now, 0.05) if status is None or stop_reading is None else max(0.0, stop_reading - now)
        if not select.select([r], [], [], max(wait, 0.0))[0]:
            continue
        data = os.read(r, 65536)
        if not data:
            if status is None:
                _, status = os.waitpid(created.pid, 0)
            break
        room = MAX_OUTPUT - len(kept)
        if room > 0:
            kept += data[:room]
        if len(data) > room:
            more = True  # the rest is read and dropped, so the check never blocks on a full pipe
    os.close(r)
    output = truncate(bytes(kept), more)
    if timed_out:
        limit = go_duration(cfg["Timeout"])
        output = f"Health check exceeded timeout ({limit})" + (f": {output}" if output else "")
        code = -1
    else:
        assert status is not None  # not timed out: the probe was reaped
        code = os.waitstatus_to_exitcode(status)
        code = 128 - code if code < 0 else code  # killed by a signal: as a shell reports it
    return {"Start": start, "End": now_rfc3339(), "ExitCode": code, "Output": output}


def _watch_for_pause(cid: str, on_paused, parent: str | None = None) -> None:
    """A pause during the check (even while its exec is being set up) would hang it in the
    frozen cgroup until its timeout, with no other probe run meanwhile: look every 50 ms
    and, once paused, call on_paused (which records Docker's failure and ends this
    process: unwinding would only block again, in the exec's own cleanup waiting for a
    frozen child). What was started dies when the container thaws."""
    from sampan.engine.pause import is_frozen

    def on_alarm(_signum, _frame) -> None:
        if is_frozen(cid, parent):
            signal.setitimer(signal.ITIMER_REAL, 0)
            on_paused()
    signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, 0.05, 0.05)


def _paused_result(cid: str) -> dict:
    from sampan.engine.records import now_rfc3339
    now = now_rfc3339()
    return {"Start": now, "End": now, "ExitCode": -1,
            "Output": f"Container {cid} is paused, unpause the container before exec"}


def probe(ctx, cid: str) -> int:
    """Run one check and record it; the process's exit status for the monitor."""
    from sampan.engine import events, health_state
    from sampan.engine.health_config import effective
    from sampan.engine.status import status_of
    from sampan.oci.times import parse_time

    rec = ctx.containers.get(cid)
    st = status_of(rec) if rec is not None else None
    if st is None or "healthcheck" not in rec.config or not st.running:
        return 0
    cfg = effective(rec.config["healthcheck"])
    in_start = time.time() - parse_time(rec.started_at) < cfg["StartPeriod"] / 1e9

    def record(result: dict) -> int:
        old, new = health_state.record(ctx, cid, result, cfg["Retries"], in_start)
        if old != new:
            events.container_event(ctx, rec, f"health_status: {new}")
        return STILL_STARTING if new == health_state.STARTING else 0

    if st.paused:  # an exec would hang in the frozen cgroup until the timeout: Docker's failure
        return record(_paused_result(cid))

    def paused_meanwhile() -> None:
        code = record(_paused_result(cid))
        sys.stderr.flush()
        os._exit(code)

    _watch_for_pause(cid, paused_meanwhile, rec.config.get("cgroup_parent"))
    result = run_check(ctx, rec, cfg)
    signal.setitimer(signal.ITIMER_REAL, 0)
    return record(result)


def main(arg: str) -> None:
    from sampan.engine.context import Context
    from sampan.engine.monitor_loop import unpack
    from sampan.state.paths import Paths

    job = unpack(arg)
    code = 0
    try:
        ctx = Context(Paths.from_env(job["root"], job["runroot"]), job["runtime"])
        code = probe(ctx, job["cid"])
    except Exception:
        import traceback
        traceback.print_exc()  # the monitor's log
    sys.stderr.flush()
    os._exit(code)
