"""The runtime's side of the handshake with a child it forked (see channel.py, child.py)."""

from __future__ import annotations

import os
import signal

from sampan.errors import RuntimeFailure
from sampan.runtime import channel
from sampan.state import explain
from sampan.state.explain import safe


def ensure_std_fds() -> None:
    """A caller with fd 0, 1 or 2 closed would get our socket or /dev/null there, and the
    child's stdio setup would overwrite it: fill the holes with /dev/null first (daemon habit)."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            got = os.open("/dev/null", os.O_RDWR)
            if got != fd:  # a lower hole was filled first; the loop fills this one next time round
                os.dup2(got, fd)
                os.close(got)


def wait_ready(sock, pid: int) -> tuple[int | None, dict]:
    """Read the child's messages until 'ready'; returns (the pty master if one was sent,
    the 'ready' message)."""
    master = None
    try:
        while True:
            msg, fd = channel.recv(sock)
            if msg is None:
                raise RuntimeFailure("container setup failed: the runtime child exited without a word")
            kind = msg.get("type")
            if kind == "pty" and master is None:
                master = fd  # the first: the child sends it before it starts anything
            elif fd is not None:
                os.close(fd)
            if kind == "ready":
                return master, msg
            if kind == "error":
                channel.raise_error(msg)
    except BaseException:
        if master is not None:
            os.close(master)
        reap(pid)
        raise


def join_cgroup(cgroup, pid: int, sock, make=None) -> None:
    """Move the child into the container's cgroup while it sets itself up (first calling
    make(), which makes the cgroup, when given), then tell it. If that fails, the child's
    own error (if it already failed) is the one to report."""
    try:
        if make is not None:
            make()
        cgroup.join(pid)
    except BaseException as join_error:
        reap(pid)
        while True:
            msg, fd = channel.recv(sock)
            if fd is not None:
                os.close(fd)
            if msg is None:
                raise join_error
            if msg.get("type") == "error":
                channel.raise_error(msg)
    try:
        channel.send(sock, {"type": "joined"})
    except OSError:
        pass  # the child already failed and left: wait_ready() reads why


def reap(pid: int, kill: bool = True) -> None:
    if kill:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


def compile_seccomp(linux: dict, cache_dir=None) -> bytes | None:
    """linux.seccomp as BPF; cache_dir keeps compiled programs (see seccomp.compile_cached)."""
    profile = linux.get("seccomp")
    if not profile:
        return None
    from sampan.runtime.seccomp import compile_cached  # libseccomp only when a profile is given
    try:
        bpf = compile_cached(profile, cache_dir)
    except OSError as e:
        raise RuntimeFailure(f"cannot compile the seccomp profile: {e.strerror or e}") from None
    if explain.on():
        explain.explain("seccomp", _profile_text(profile))
    return bpf


@safe
def _profile_text(profile: dict) -> str:
    allowed = sum(len(r.get("names") or []) for r in profile.get("syscalls") or []
                  if r.get("action") == "SCMP_ACT_ALLOW")
    return (f"profile: {allowed} system calls allowed, the rest get {profile.get('defaultAction', '?')} "
            f"(errno {profile.get('defaultErrnoRet', '-')})")
