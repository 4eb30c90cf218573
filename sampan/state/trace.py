"""Opt-in timing marks for finding where a command spends its time.

`SAMPAN_TRACE=/tmp/trace.log sampan run ...` appends one line per mark (wall clock
in ms, pid, label) from every process involved: CLI, zygote worker, monitor.
Costs one environment lookup per mark when unset.
"""

from __future__ import annotations

import os
import time


def mark(label: str) -> None:
    path = os.environ.get("SAMPAN_TRACE")
    if not path:
        return
    try:
        with open(path, "a") as f:
            f.write(f"{time.time() * 1000:.1f} {os.getpid()} {label}\n")
    except OSError:
        pass
