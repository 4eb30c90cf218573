"""The native runtime: runc's verbs implemented in-process with fork and namespaces."""

from __future__ import annotations

import errno
import os
import signal
import time
from pathlib import Path

from sampan.errors import ContainerNotFound, InvalidArgument, InvalidState, RuntimeFailure, SampanError
from sampan.runtime import channel
from sampan.runtime.base import Created, OCIRuntime, RuntimeState, Stdio, cgroups_path
from sampan.runtime.cgroups import CgroupV1, is_v2, open_cgroup
from sampan.runtime.cgroups.prime import prime
from sampan.runtime.child import container_init
from sampan.runtime.child_common import ChildContext
from sampan.runtime.forking import fork_in_pidns
from sampan.runtime.handshake import compile_seccomp, ensure_std_fds, join_cgroup, wait_ready
from sampan.runtime.oserrors import os_errors as _os_errors
from sampan.runtime.spec import load_spec
from sampan.runtime.statefile import RuntimeRecord, StateDir, check_id, is_alive
from sampan.state.procstat import proc_stat
from sampan.runtime.syscalls import Syscalls
from sampan.runtime.validate import validate
from sampan.state import explain


def _make_cgroup(cgroup, resources: dict) -> None:
    """Made once the child is forked: the mkdir may wait for a grace period that a cgroup
    move started (see prime.py), and the child sets itself up meanwhile."""
    if explain.on():
        layout = "v2: one directory" if is_v2() else "v1: a directory in each controller's hierarchy"
        explain.explain("cgroup", f"/{cgroup.rel} ({layout}): limits written next")
    cgroup.create(resources)
    prime()  # keeps the join that follows from waiting a grace period of its own


class NativeRuntime(OCIRuntime):
    name = "native"

    def __init__(self, state_dir: Path, sys=None) -> None:
        self.states = StateDir(state_dir)
        self.seccomp_cache = self.states.root / ".seccomp"  # not a valid container id
        self._sys = sys

    @property
    def sys(self):
        if self._sys is None:
            self._sys = Syscalls()
        return self._sys

    # ---- create / start ----
    def prepare_cgroup(self, path: str) -> None:
        """Make a container's cgroup (directories only) ahead of create(), then start the
        grace period its first move waits for (cgroups/prime.py): made after that wait
        began, the mkdir would wait for it too. create() finds the cgroup made, or makes
        it and reports why it cannot; a failed start removes it with discard_cgroup()."""
        try:
            open_cgroup(path).make({})
        except SampanError:
            pass  # create() tries again and says why
        prime()

    def discard_cgroup(self, path: str) -> None:
        """Undo prepare_cgroup() for a start that failed before create()."""
        open_cgroup(path).remove()

    @_os_errors("create")
    def create(self, cid: str, bundle: Path, stdio: Stdio, meanwhile=None) -> Created:
        check_id(cid)
        bundle = Path(bundle).absolute()
        spec = load_spec(bundle)
        validate(spec, bundle)
        if bool(spec["process"].get("terminal")) != stdio.terminal:
            raise InvalidArgument("process.terminal in config.json must match the terminal requested")
        linux = spec.get("linux") or {}
        cgroup_path = linux.get("cgroupsPath") or cgroups_path(cid)
        ensure_std_fds()
        self.states.reserve(cid)
        cgroup = open_cgroup(cgroup_path)
        resources = linux.get("resources") or {}
        sock = child_sock = None
        devnull = -1
        try:
            fifo = self.states.fifo(cid)
            os.mkfifo(fifo, 0o600)
            sock, child_sock = channel.pair()
            devnull = os.open("/dev/null", os.O_RDWR | os.O_CLOEXEC)
            ctx = ChildContext(
                sock=child_sock, stdio=stdio, devnull=devnull, spec=spec,
                rootfs=str((bundle / spec["root"]["path"]).resolve()), fifo=str(fifo),
                cgroup_hierarchies=cgroup.mount_sources(resources) if isinstance(cgroup, CgroupV1) else {},
                cgroup_v2=is_v2(), seccomp=compile_seccomp(linux, self.seccomp_cache),
                parent_pid=os.getpid())
            pidns = next((ns for ns in linux.get("namespaces") or [] if ns.get("type") == "pid"), None)
            join_fd = os.open(pidns["path"], os.O_RDONLY | os.O_CLOEXEC) if pidns and pidns.get("path") else None
            try:
                pid = fork_in_pidns(self.sys, lambda: container_init(self.sys, ctx),
                                    new_ns=pidns is not None and join_fd is None, join_fd=join_fd)
            finally:
                if join_fd is not None:
                    os.close(join_fd)
            child_sock.close()
            child_sock = None
            join_cgroup(cgroup, pid, sock, make=lambda: _make_cgroup(cgroup, resources))
            if explain.on():
                explain.explain("cgroup", f"the init, host pid {pid}, moved into {cgroup_path}: its limits and "
                                f"accounting cover every process it starts")
            if meanwhile is not None:
                meanwhile()  # the child is mounting its filesystems: wait_ready() would idle
            master, _ = wait_ready(sock, pid)
            st = proc_stat(pid)
            self.states.save(RuntimeRecord(cid, pid, st[1] if st else 0, str(bundle), cgroup_path,
                                             time.time()))
            return Created(pid=pid, pty_master=master)
        except BaseException:
            try:
                cgroup.remove()
            except SampanError:
                pass  # the original failure is the one worth reporting
            self.states.remove(cid)
            raise
        finally:
            for s in (sock, child_sock):
                if s is not None:
                    s.close()
            if devnull >= 0:
                os.close(devnull)

    @_os_errors("start")
    def start(self, cid: str) -> None:
        rec = self.states.load(cid)
        status = self.states.status(rec)
        if status != "created":
            raise InvalidState(f"container {cid} is {status}, not created: only a created container can start")
        fifo = self.states.fifo(cid)
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as e:
            if e.errno in (errno.ENXIO, errno.ENOENT):
                raise InvalidState(f"container {cid} is not waiting to start") from None
            raise RuntimeFailure(f"cannot start container {cid}: {e.strerror}") from None
        try:
            os.write(fd, b"0")
        finally:
            os.close(fd)
        fifo.unlink(missing_ok=True)

    # ---- observe / signal / remove ----
    @_os_errors("state")
    def state(self, cid: str) -> RuntimeState:
        rec = self.states.load(cid)
        return RuntimeState(id=cid, status=self.states.status(rec), pid=rec.pid, bundle=rec.bundle)

    @_os_errors("kill")
    def kill(self, cid: str, sig: int, all: bool = False) -> None:
        rec = self.states.load(cid)
        if not is_alive(rec):
            raise InvalidState(f"container {cid} is not running: nothing to signal")
        pids = open_cgroup(rec.cgroup_path).pids() if all else [rec.pid]
        for pid in pids or [rec.pid]:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass

    @_os_errors("delete")
    def delete(self, cid: str, force: bool = False) -> None:
        try:
            rec = self.states.load(cid)
        except ContainerNotFound:
            if force:  # a create killed before it saved the state: its reserved dir is left
                self.states.remove(cid)
            raise
        status = self.states.status(rec)
        if status == "running" and not force:
            raise InvalidState(f"container {cid} is running: stop it first or delete with force")
        if status != "stopped":
            try:
                os.kill(rec.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        open_cgroup(rec.cgroup_path).remove()  # kills anything left (exec'd processes)
        self.states.remove(cid)

    @_os_errors("oom_killed")
    def oom_killed(self, cid: str) -> bool:
        rec = self.states.load(cid)
        return open_cgroup(rec.cgroup_path).oom_killed()

    @_os_errors("exec")
    def exec(self, cid: str, process: dict, stdio: Stdio, detach: bool = False) -> Created:
        # detach changes nothing here: the process is the caller's child either way
        from sampan.runtime.native_exec import exec_in_container  # `exec` only, not `run`

        return exec_in_container(self, cid, process, stdio)
