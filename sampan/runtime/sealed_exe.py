"""Run the exec joiner from a sealed copy of the interpreter (the CVE-2019-5736 class).

/proc/PID/exe of the command's process, until its execve, is the interpreter
the engine runs. A container process that can open it (non-dumpable as it is,
that takes CAP_SYS_PTRACE) can keep it open and write through it once nothing
executes the file any more: a host binary overwritten from inside. runc and
crun run from a copy in a memfd sealed against writes. The joiner does the same
for a container that holds CAP_SYS_PTRACE or shares its pid namespace: before
it touches the container, it copies the interpreter into a memfd, seals it and
re-executes itself from it, passing its context in another memfd. That costs a
copy and an interpreter start (tens of ms); any other container cannot reach the
joiner's /proc entries at all, so it is spared that cost.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys as _sys

from sampan.errors import RuntimeFailure

SEALS = fcntl.F_SEAL_SEAL | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE
_BOOT = ("import sys; sys.path.insert(0, sys.argv[1]); "
         "from sampan.runtime.sealed_exe import main; main(int(sys.argv[2]))")


def needs_seal(spec: dict, process: dict) -> bool:
    """Can a process in the container open /proc/PID/exe of a non-dumpable one of ours?
    Only with CAP_SYS_PTRACE (the container's or this process's), or from outside the
    container when its pid namespace is shared."""
    for caps in ((spec.get("process") or {}).get("capabilities"), process.get("capabilities")):
        if caps is None or "CAP_SYS_PTRACE" in (caps.get("bounding") or []):
            return True
    pidns = [ns for ns in (spec.get("linux") or {}).get("namespaces") or [] if ns.get("type") == "pid"]
    return not pidns or bool(pidns[0].get("path"))


def self_is_sealed() -> bool:
    try:
        fd = os.open("/proc/self/exe", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        return fcntl.fcntl(fd, fcntl.F_GET_SEALS) & SEALS == SEALS
    except OSError:
        return False  # not a memfd
    finally:
        os.close(fd)


def sealed_copy() -> int:
    """A memfd holding a copy of our own executable, sealed against any change."""
    src = os.open("/proc/self/exe", os.O_RDONLY | os.O_CLOEXEC)
    try:
        size = os.fstat(src).st_size
        exe = os.memfd_create("sampan-exec", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
        done = 0
        while done < size:
            n = os.sendfile(exe, src, done, size - done)
            if n == 0:
                raise RuntimeFailure("the interpreter changed while it was copied")
            done += n
    finally:
        os.close(src)
    fcntl.fcntl(exe, fcntl.F_ADD_SEALS, SEALS)
    return exe


def reexec(ctx, proc: dict) -> None:
    """In the confined joiner: continue in a sealed copy of the interpreter. Returns only when
    already running from one."""
    if self_is_sealed():
        return  # already running from one (a caller that did this itself)
    exe = sealed_copy()
    state = {"sock": ctx.sock.fileno(), "terminal": bool(ctx.stdio.terminal),
             "ns_fds": [list(x) for x in ctx.ns_fds], "pid_fd": ctx.pid_fd,
             "seccomp": ctx.seccomp.hex() if ctx.seccomp else None, "process": proc}
    data = os.memfd_create("sampan-exec-state", 0)  # the environment is no place for it: /proc/PID/environ
    os.write(data, json.dumps(state).encode())
    os.lseek(data, 0, os.SEEK_SET)
    for fd in [ctx.sock.fileno(), ctx.pid_fd] + [fd for fd, _ in ctx.ns_fds]:
        if fd is not None:
            os.set_inheritable(fd, True)
    import sampan
    pkg_parent = os.path.dirname(os.path.dirname(os.path.abspath(sampan.__file__)))
    # argv[0] names the real interpreter: it finds its standard library from there
    python = os.path.realpath(_sys.executable)
    os.execve(exe, [python, "-I", "-S", "-c", _BOOT, pkg_parent, str(data)], {})


class _Stdio:
    """What join() reads of base.Stdio (whose module costs ~4 ms to import here)."""
    stdin = stdout = stderr = None

    def __init__(self, terminal: bool) -> None:
        self.terminal = terminal


def main(data_fd: int) -> None:
    """The sealed interpreter's entry point: pick up where exec_join.exec_child left off.
    Nothing may reach fds 0-2 (the command's stdio) from here: errors go to the channel."""
    try:
        from sampan.runtime.confine import PR_SET_DUMPABLE
        from sampan.runtime.syscalls import Syscalls

        sys = Syscalls()
        sys.prctl(PR_SET_DUMPABLE, 0)  # execve made us dumpable again
        import _socket

        from sampan.runtime.child_common import ChildContext, report_and_exit
        from sampan.runtime.exec_join import join
        from sampan.runtime.process import Step

        with os.fdopen(data_fd, "rb") as f:
            state = json.loads(f.read())
        sock = _socket.socket(fileno=state["sock"])
        ctx = ChildContext(sock=sock, stdio=_Stdio(state["terminal"]), devnull=-1,
                           ns_fds=[tuple(x) for x in state["ns_fds"]], pid_fd=state["pid_fd"],
                           seccomp=bytes.fromhex(state["seccomp"]) if state["seccomp"] else None)
        for fd in [ctx.sock.fileno(), ctx.pid_fd] + [fd for fd, _ in ctx.ns_fds]:
            if fd is not None:
                os.set_inheritable(fd, False)
    except BaseException:  # noqa: BLE001 - the caller reports a child that left without a word
        os._exit(1)
    step = Step()
    try:
        join(sys, ctx, state["process"], step)
    except BaseException as e:  # noqa: BLE001
        report_and_exit(ctx, e, step)
    os._exit(1)
