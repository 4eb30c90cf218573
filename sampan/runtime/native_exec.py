"""exec: start one more process inside a running container (the caller's side; the
forked child's is exec_join.py)."""

from __future__ import annotations

import os
from pathlib import Path

from sampan.errors import InvalidArgument, InvalidState, RuntimeFailure
from sampan.runtime import channel
from sampan.runtime.base import Created, Stdio
from sampan.runtime.cgroups import open_cgroup
from sampan.runtime.child_common import ChildContext
from sampan.runtime.exec_join import exec_child
from sampan.runtime.handshake import compile_seccomp, ensure_std_fds, join_cgroup, reap, wait_ready
from sampan.runtime.sealed_exe import needs_seal
from sampan.runtime.spec import load_spec, with_container_defaults
from sampan.runtime.statefile import is_alive
from sampan.runtime.syscalls import CLONE_NEWCGROUP, CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWUTS
from sampan.runtime.validate import check_process_object
from sampan.state import explain

from typing import TYPE_CHECKING  # typing is loaded on every path that imports this
if TYPE_CHECKING:
    from typing import TypeGuard

# joined in this order; mnt last because it changes our root
EXEC_NAMESPACES = [("cgroup", CLONE_NEWCGROUP), ("ipc", CLONE_NEWIPC), ("uts", CLONE_NEWUTS),
                   ("net", CLONE_NEWNET), ("mnt", CLONE_NEWNS)]


def exec_in_container(rt, cid: str, process: dict, stdio: Stdio) -> Created:
    """Fork a process into a running container's namespaces and cgroup (runc exec)."""
    problem = check_process_object(process)
    if problem:
        raise InvalidArgument(problem)
    rec = rt.states.load(cid)
    if rt.states.status(rec) != "running":
        raise InvalidState(f"container {cid} is not running: cannot exec in it")
    ensure_std_fds()
    ns_fds = []
    pid_fd = None
    sock = child_sock = None
    devnull = -1
    try:
        for name, flag in EXEC_NAMESPACES:
            if not _same_ns(rec.pid, name):
                ns_fds.append((os.open(f"/proc/{rec.pid}/ns/{name}", os.O_RDONLY | os.O_CLOEXEC), flag))
        if not _same_ns(rec.pid, "pid"):
            pid_fd = os.open(f"/proc/{rec.pid}/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
        if not is_alive(rec):
            raise InvalidState(f"container {cid} stopped: cannot exec in it")
        if explain.on():
            explain.explain("exec", f"joins the namespaces of the container's PID 1 (host pid {rec.pid}): "
                            f"{', '.join(n for n, f in EXEC_NAMESPACES if any(f == g for _, g in ns_fds))}"
                            f"{', pid' if pid_fd is not None else ''}; and its cgroup {rec.cgroup_path}")
        spec = load_spec(Path(rec.bundle))
        process = with_container_defaults(process, Path(rec.bundle), spec)
        seccomp = compile_seccomp(spec.get("linux") or {}, rt.seccomp_cache)
        sock, child_sock = channel.pair()
        devnull = os.open("/dev/null", os.O_RDWR | os.O_CLOEXEC)
        ctx = ChildContext(sock=child_sock, stdio=stdio, devnull=devnull, ns_fds=ns_fds, seccomp=seccomp,
                           pid_fd=pid_fd, seal=needs_seal(spec, process))
        sys = rt.sys
        # The joiner stays in our pid namespace; it forks the command into the container's.
        joiner = os.fork()
        if joiner == 0:
            try:
                exec_child(sys, ctx, process)
            finally:
                os._exit(1)
        child_sock.close()
        child_sock = None
        join_cgroup(open_cgroup(rec.cgroup_path), joiner, sock)  # the command is forked in it
        master, ready = wait_ready(sock, joiner)
        reap(joiner, kill=False)  # gone once it said ready: the command is now our child
        pid = ready.get("pid")
        if not _is_our_child(pid):  # a message forged through the channel (the command's
            if master is not None:  # process holds it for a moment, ptrace-able by a container
                os.close(master)    # with CAP_SYS_PTRACE): never signal or wait for another pid
            raise RuntimeFailure(f"exec in {cid}: the runtime child named a process that is not ours")
        return Created(pid=pid, pty_master=master)
    finally:
        for fd, _ in ns_fds:
            os.close(fd)
        if pid_fd is not None:
            os.close(pid_fd)
        for s in (sock, child_sock):
            if s is not None:
                s.close()
        if devnull >= 0:
            os.close(devnull)


def _is_our_child(pid: object) -> TypeGuard[int]:
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    try:
        os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)  # leaves it to be reaped
        return True
    except ChildProcessError:
        return False


def _same_ns(pid: int, name: str) -> bool:
    try:
        return os.readlink(f"/proc/{pid}/ns/{name}") == os.readlink(f"/proc/self/ns/{name}")
    except OSError:
        return False
