"""Pay, in the background and ahead of time, the wait that the next cgroup move costs.

A write to cgroup.procs (v1 or v2) takes the kernel's cgroup_threadgroup_rwsem for
writing. When nobody took it during the last RCU grace period, that writer first waits
a whole grace period (6-12 ms on the 2-core VM this was measured on); a writer that
comes while such a wait is under way, or in the grace period after it, does not wait
again. So a caller that will move a task soon calls prime() first: a thread "moves" this
process into the cgroup it is already in, which changes nothing but starts that
wait at once. A move 6-12 ms later then takes ~0.6 ms instead of ~8.

While that first wait runs, the writer holds cgroup_mutex, so making a cgroup
(mkdir) waits for it too. Hence, on the way to a container's start: as the start
begins, ~12 ms before the runtime's move, the native runtime makes the cgroup's
directories and then primes (NativeRuntime.prepare_cgroup; other runtimes only
prime); right before its move it primes again, which is quick once the first wait
is over and keeps the no-wait window open until the move.

The thread only writes one file and never forks, so a fork in the caller meanwhile
(the runtime's, into a new pid namespace) is unaffected by it.
"""

from __future__ import annotations

import _thread
import os

_ROOT = "/sys/fs/cgroup"


def prime() -> None:
    """Start the grace period now, in a thread; return once the thread's write is under way.
    Best effort: any failure is ignored."""
    path = own_procs_file()
    if path is None:
        return
    started = _thread.allocate_lock()
    started.acquire()
    _thread.start_new_thread(_rewrite_own_pid, (path, started))
    # Wait for the thread to reach its write: left to the interpreter's thread switching,
    # it would get its first turn only after up to 5 ms (sys.getswitchinterval()).
    started.acquire(timeout=1)


def own_procs_file(proc_cgroup: str = "/proc/self/cgroup", root: str = _ROOT) -> str | None:
    """The cgroup.procs file of a cgroup this process is in, on a hierarchy it can write:
    the unified one on cgroup v2, else the first named controller of v1 (never name=...)."""
    try:
        with open(proc_cgroup) as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    unified = os.path.exists(os.path.join(root, "cgroup.controllers"))
    for line in lines:
        hid, controllers, path = (line.split(":", 2) + ["", ""])[:3]
        if unified:
            if hid != "0":
                continue
            base = root
        else:
            if not controllers or controllers.startswith("name="):
                continue
            base = os.path.join(root, controllers)  # e.g. pids, or cpu,cpuacct
        candidate = os.path.join(base, path.lstrip("/"), "cgroup.procs")
        if os.path.exists(candidate):
            return candidate
    return None


def _rewrite_own_pid(path: str, started) -> None:
    # Plain fds, no buffered file object: the caller may fork while we wait in write(),
    # and a child must not inherit a Python I/O lock held by this thread.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    except OSError:
        started.release()
        return
    started.release()
    try:
        os.write(fd, str(os.getpid()).encode())  # the grace period is waited here, without the GIL
    except OSError:
        pass
    finally:
        os.close(fd)
