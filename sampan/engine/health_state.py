"""A container's health (Docker's State.Health): its file, the rules that move its status,
and how inspect and ps show it.

`containers/<id>/health.json` holds {"Status", "FailingStreak", "Log"}: reset to
`starting` by the monitor at every start, updated by each probe (health_probe.py, one
at a time per container), set `unhealthy` when the container stops (as Docker does
once its health monitor ends). Only containers with a healthcheck have it.
"""

from __future__ import annotations

import json
import os

from sampan.state.atomic import atomic_write_bytes

FILE = "health.json"
MAX_LOG = 5            # Docker's maxLogEntries
MAX_OUTPUT = 4096      # Docker's maxOutputLen: a longer output is cut and ends in "..."
STARTING, HEALTHY, UNHEALTHY = "starting", "healthy", "unhealthy"


def path(ctx, cid: str) -> str:
    return os.path.join(ctx.paths.container_dir(cid), FILE)


def load(ctx, cid: str) -> dict | None:
    try:
        with open(path(ctx, cid), "rb") as f:
            return json.loads(f.read())
    except (OSError, ValueError):
        return None


def _save(ctx, cid: str, health: dict) -> None:
    try:
        atomic_write_bytes(path(ctx, cid), json.dumps(health).encode(), durable=False)
    except FileNotFoundError:
        pass  # the container was removed meanwhile


def reset(ctx, cid: str) -> None:
    """At a start: `starting`, no streak, no log (Docker makes a new Health each start)."""
    _save(ctx, cid, {"Status": STARTING, "FailingStreak": 0, "Log": []})


def stopped(ctx, cid: str) -> None:
    """The container stopped: its health is `unhealthy`, the log kept (Docker's way)."""
    health = load(ctx, cid)
    if health is not None and health.get("Status") != UNHEALTHY:
        health["Status"] = UNHEALTHY
        _save(ctx, cid, health)


def record(ctx, cid: str, result: dict, retries: int, in_start_period: bool) -> tuple[str, str]:
    """One probe's result ({"Start", "End", "ExitCode", "Output"}) applied as Docker's
    handleProbeResult does. Returns (old status, new status)."""
    health = load(ctx, cid) or {"Status": STARTING, "FailingStreak": 0, "Log": []}
    old = health.get("Status", STARTING)
    health["Log"] = (health.get("Log") or [])[-(MAX_LOG - 1):] + [result]
    if result["ExitCode"] == 0:
        health["FailingStreak"] = 0
        health["Status"] = HEALTHY
    elif not (old == STARTING and in_start_period):  # a failure in the start period does not count
        health["FailingStreak"] = health.get("FailingStreak", 0) + 1
        if health["FailingStreak"] >= retries:
            health["Status"] = UNHEALTHY
    _save(ctx, cid, health)
    return old, health["Status"]


def inspect_health(ctx, rec) -> dict | None:
    """State.Health for inspect: None before the first start (Docker has none then)."""
    health = load(ctx, rec.id)
    if health is None:
        return None
    return {"Status": health.get("Status", STARTING), "FailingStreak": health.get("FailingStreak", 0),
            "Log": health.get("Log") or []}


def ps_suffix(ctx, rec) -> str:
    """What `ps` adds to "Up 5 seconds": " (healthy)", " (health: starting)"."""
    health = load(ctx, rec.id)
    status = (health or {}).get("Status", STARTING)
    return " (health: starting)" if status == STARTING else f" ({status})"


def truncate(data: bytes, more: bool) -> str:
    """Docker's limitedBuffer: the first MAX_OUTPUT bytes, "..." when there was more."""
    text = data[:MAX_OUTPUT].decode(errors="replace")
    return text + "..." if more or len(data) > MAX_OUTPUT else text
