"""What a forked runtime child does first, before it touches a container.

A child forked from the engine is a copy of it: it holds the engine's
descriptors (the database, locks, the caller's terminal) and, as a dumpable
process of the same uid, another root process may open its /proc/PID/fd/* and
/proc/PID/exe (the host's interpreter: CVE-2019-5736, CVE-2016-9962). So,
before any setns or unshare: non-dumpable (only CAP_SYS_PTRACE in the host's
user namespace reaches it now; execve of the container's command makes it
dumpable again), a session of its own (no controlling terminal of the host's),
and no descriptor but the ones it passes on.
"""

from __future__ import annotations

import gc
import os

PR_SET_DUMPABLE = 4
# close_range(2) takes any bound; fs.nr_open (at most 2^20 by default) caps fd numbers.
_FD_CEILING = 1 << 20


def confine(sys, keep) -> None:
    """Non-dumpable, own session, and every fd >= 3 closed but those in keep."""
    gc.disable()  # a collected engine object would close its fd number, maybe reused by then
    sys.prctl(PR_SET_DUMPABLE, 0)
    try:
        os.setsid()
    except PermissionError:
        pass  # already a session leader (a caller that forked us that way): no terminal of its own
    close_fds_except(keep)


def close_fds_except(keep) -> None:
    """Close every fd from 3 up, except those in keep (one close_range call per gap)."""
    low = 3
    for fd in sorted({fd for fd in keep if fd is not None and fd >= 3}):
        if fd > low:
            os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, _FD_CEILING)
