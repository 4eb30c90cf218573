"""Waiting for something a container or the engine does in its own time: poll, never
assert on wall-clock time."""

from __future__ import annotations

import time


def poll(fn, timeout: float = 30.0, every: float = 0.05):
    """fn() until it returns something true; that value (or the last false one at timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(every)
