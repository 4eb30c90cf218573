"""The guard of one build: waits for the build to end, and sweeps its scratch if it died.

Started by build_scratch.BuildScratch at the build's first RUN step, in a session of
its own, with the read end of a pipe whose write end the build holds. A build that
ends as it should removes its scratch and closes the pipe: the guard sees the
scratch gone and leaves. A build that dies (SIGKILL, or anything else that skips its
cleanup) leaves its scratch: the guard kills the RUN containers recorded there,
unmounts, releases their network sandboxes and removes it.

argv: ROOT RUNROOT SCRATCH_DIR BUILD_PID BUILD_START_TIME
"""

from __future__ import annotations

import os
import select
import signal
import sys
from pathlib import Path


def _wait(pid: int, start: int, pipe: int, scratch: Path) -> None:
    """Return once the build is gone, or has closed the pipe and removed its scratch."""
    from sampan.engine import procs

    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    try:
        watched = [pidfd, pipe]
        while procs.alive(pid, start):  # (checked after pidfd_open: the pid was not reused)
            ready, _, _ = select.select(watched, [], [])
            if pipe in ready and not os.read(pipe, 64):
                watched = [pidfd]  # closed: from here only the build's end matters
                if not scratch.exists():
                    return
            if pidfd in ready:
                return
    finally:
        os.close(pidfd)


def main(argv: list[str]) -> None:
    root, runroot, scratch, pid, start = argv[:5]
    for sig in (signal.SIGINT, signal.SIGHUP):  # a terminal's signals are the build's
        signal.signal(sig, signal.SIG_IGN)
    scratch_dir = Path(scratch)
    _wait(int(pid), int(start), 0, scratch_dir)
    from sampan.engine import procs
    if procs.alive(int(pid), int(start)) or not scratch_dir.exists():
        return  # the build is still there and done with its scratch, or it cleaned up
    from sampan.engine.build_scratch import sweep_dir
    from sampan.engine.context import Context
    from sampan.state.paths import Paths

    ctx = Context(Paths(Path(root), Path(runroot)))
    sys.stderr.write(f"build {pid} ended without cleaning up: sweeping {scratch}\n")
    sweep_dir(ctx, scratch_dir)
