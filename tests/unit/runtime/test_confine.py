"""confine(): what a forked runtime child does before it touches a container."""

from __future__ import annotations

import json
import os

from sampan.runtime.confine import close_fds_except, confine
from sampan.runtime.sealed_exe import needs_seal
from sampan.runtime.syscalls import Syscalls

PR_GET_DUMPABLE = 3


def _in_child(fn) -> dict:
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            result = fn(w)
            os.write(w, json.dumps(result).encode())
        finally:
            os._exit(0)
    os.close(w)
    data = b""
    while chunk := os.read(r, 65536):
        data += chunk
    os.close(r)
    os.waitpid(pid, 0)
    return json.loads(data)


def test_confine_makes_the_child_undumpable_a_session_leader_and_closes_the_rest():
    keep_me = os.open("/dev/null", os.O_RDONLY)
    others = [os.open("/dev/null", os.O_RDONLY) for _ in range(5)]
    os.set_inheritable(others[0], True)
    try:
        def child(w):
            sys = Syscalls()
            confine(sys, [keep_me, w])
            return {"dumpable": sys.prctl(PR_GET_DUMPABLE), "leader": os.getsid(0) == os.getpid(),
                    "fds": sorted(int(fd) for fd in os.listdir("/proc/self/fd"))}
        got = _in_child(child)
    finally:
        for fd in [keep_me] + others:
            os.close(fd)
    assert got["dumpable"] == 0
    assert got["leader"]
    # 0-2, the kept ones, and the directory listdir had open for itself
    assert not set(got["fds"]) & set(others), got


def test_close_fds_except_keeps_exactly_what_it_is_told():
    fds = [os.open("/dev/null", os.O_RDONLY) for _ in range(6)]
    try:
        def child(w):
            close_fds_except([fds[1], fds[4], w, None])
            return [fd for fd in fds if _is_open(fd)]
        assert _in_child(child) == [fds[1], fds[4]]
    finally:
        for fd in fds:
            os.close(fd)


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
        return True
    except OSError:
        return False


def _spec(bounding=None, pid_path=None, no_caps=False):
    caps = None if no_caps else {"bounding": bounding or ["CAP_CHOWN"]}
    ns = {"type": "pid", "path": pid_path} if pid_path else {"type": "pid"}
    return {"process": {"capabilities": caps} if caps else {}, "linux": {"namespaces": [ns]}}


def test_a_sealed_interpreter_only_where_a_container_process_could_reach_ours():
    plain = {"capabilities": {"bounding": ["CAP_CHOWN"]}}
    assert not needs_seal(_spec(), plain)
    assert needs_seal(_spec(["CAP_CHOWN", "CAP_SYS_PTRACE"]), plain)
    assert needs_seal(_spec(), {"capabilities": {"bounding": ["CAP_SYS_PTRACE"]}})
    assert needs_seal(_spec(no_caps=True), plain)  # no list: every capability
    assert needs_seal(_spec(pid_path="/proc/1/ns/pid"), plain)  # someone else's pid namespace
    assert needs_seal({"process": {"capabilities": {"bounding": []}}, "linux": {"namespaces": []}}, plain)


def test_only_a_child_of_ours_is_taken_for_the_exec_d_process():
    """A "ready" forged through the channel must not make the engine wait for, or pass
    signals to, some other process."""
    from sampan.runtime.native_exec import _is_our_child

    pid = os.fork()
    if pid == 0:
        os._exit(0)
    try:
        assert _is_our_child(pid)
        assert _is_our_child(pid)  # asking leaves it to be reaped
    finally:
        os.waitpid(pid, 0)
    assert not _is_our_child(pid)
    assert not _is_our_child(1)
    assert not _is_our_child("12") and not _is_our_child(True) and not _is_our_child(None)
