"""The same interface over the runc (or crun) binary: its state under --root state_dir/<binary>,
ours (logs, pid files, console sockets) under state_dir/<binary>-work, so runc's root holds
nothing but its own containers.

runc's own stdio becomes the container's stdio (non-terminal mode), so its
error text is taken from its JSON log file, not from stderr; the engine gives
it pipes (or /dev/null), never a descriptor of its own caller's. Processes are
always started detached: they are reparented to the caller (a subreaper),
which reaps them exactly as with the native runtime.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from sampan.errors import (CommandNotExecutable, CommandNotFound, ContainerNotFound, InvalidArgument,
                           InvalidState, KernelFeatureMissing, RuntimeFailure)
from sampan.runtime.base import Created, OCIRuntime, RuntimeState, Stdio
from sampan.runtime.cgroups import open_cgroup
from sampan.runtime.oserrors import os_errors
from sampan.runtime.spec import INHERITED, with_container_defaults
from sampan.runtime.statefile import check_id
from sampan.runtime.validate import check_process_object

EXEC_ERROR = r'(exec: "[^"]*": .*)$'  # a pattern: compiled (and cached by re) on first use


class RuncRuntime(OCIRuntime):
    def __init__(self, state_dir: Path, binary: str = "runc") -> None:
        self.name = binary
        self.state_dir = Path(state_dir)
        path = shutil.which(binary)
        if path is None:
            raise KernelFeatureMissing(f"{binary} is not installed: install it or use --runtime native")
        self.binary = path

    def _work(self, cid: str) -> Path:
        d = self.state_dir / f"{self.name}-work" / cid
        for p in (self.state_dir, d.parent, d):  # an exec's process.json holds its env
            p.mkdir(mode=0o700, parents=True, exist_ok=True)
        return d

    def _run(self, cid: str, args: list[str], stdio: Stdio | None = None,
             console: bool = False) -> tuple[subprocess.CompletedProcess, int | None]:
        """Run one runc verb; returns (result, pty master received on the console socket)."""
        work = self._work(cid)
        log = work / f"log-{os.urandom(4).hex()}.json"
        cmd = [self.binary, "--root", str(self.state_dir / self.name), "--log", str(log), "--log-format", "json"]
        listener = None
        if console:
            sock_path = work / f"console-{os.urandom(4).hex()}.sock"
            if len(str(sock_path)) > 100:  # AF_UNIX paths are limited to 108 bytes
                sock_path = Path(tempfile.gettempdir()) / f"sampan-console-{os.urandom(8).hex()}.sock"
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
            listener.bind(str(sock_path))
            os.chmod(sock_path, 0o600)  # before listen: nobody else may hand us a "console"
            listener.listen(1)
            args = args[:1] + ["--console-socket", str(sock_path)] + args[1:]
        devnull = subprocess.DEVNULL
        if stdio is None or stdio.terminal:
            fds = dict(stdin=devnull, stdout=devnull, stderr=devnull)
        else:
            fds = dict(stdin=stdio.stdin if stdio.stdin is not None else devnull,
                       stdout=stdio.stdout if stdio.stdout is not None else devnull,
                       stderr=stdio.stderr if stdio.stderr is not None else devnull)
        master = None
        try:
            # A session of its own: the caller's controlling terminal stays out of runc's reach
            # and its children's (runc makes each container process a session leader later).
            proc = subprocess.Popen(cmd + args, stdin=fds["stdin"], stderr=fds["stderr"],
                                    stdout=subprocess.PIPE if stdio is None else fds["stdout"],
                                    start_new_session=True)
            if listener is not None:
                master = _receive_master(listener, proc)
            out = proc.stdout.read() if proc.stdout else b""
            rc = proc.wait()
            result = subprocess.CompletedProcess(proc.args, rc, out, _log_error(log))
            if rc != 0 and master is not None:
                os.close(master)
                master = None
            return result, master
        finally:
            if listener is not None:
                listener.close()
                sock_path.unlink(missing_ok=True)
            log.unlink(missing_ok=True)

    def _fail(self, cid: str, verb: str, result: subprocess.CompletedProcess) -> None:
        msg = (result.stderr or "").strip() or f"{self.name} {verb} exited with {result.returncode}"
        low = msg.lower()
        if "does not exist" in low:
            raise ContainerNotFound(f"container {cid} does not exist in the runtime")
        m = re.search(EXEC_ERROR, msg)
        if m and ("not found" in m.group(1) or "no such file" in m.group(1)):
            raise CommandNotFound(m.group(1))
        if m and "permission denied" in m.group(1):
            raise CommandNotExecutable(m.group(1))
        if any(w in low for w in ("not running", "stopped", "already", "state", "paused")):
            raise InvalidState(f"{self.name} {verb} {cid}: {msg}")
        raise RuntimeFailure(f"{self.name} {verb} {cid}: {msg}")

    @os_errors("create")
    def create(self, cid: str, bundle: Path, stdio: Stdio, meanwhile=None) -> Created:
        check_id(cid)
        bundle = Path(bundle).absolute()
        try:
            spec = json.loads((bundle / "config.json").read_text())
        except (OSError, ValueError) as e:
            raise InvalidArgument(f"cannot read {bundle}/config.json: {e}") from None
        if bool((spec.get("process") or {}).get("terminal")) != stdio.terminal:
            raise InvalidArgument("process.terminal in config.json must match the terminal requested")
        pidfile = self._work(cid) / "init.pid"
        if meanwhile is not None:
            meanwhile()  # runc runs to completion below: nothing to overlap it with
        result, master = self._run(cid, ["create", "--bundle", str(bundle), "--pid-file", str(pidfile), cid],
                                   stdio, console=stdio.terminal)
        if result.returncode != 0:
            shutil.rmtree(self._work(cid), ignore_errors=True)
            self._fail(cid, "create", result)
        return Created(pid=int(pidfile.read_text()), pty_master=master)

    @os_errors("start")
    def start(self, cid: str) -> None:
        self._simple(cid, "start", ["start", cid])

    @os_errors("state")
    def state(self, cid: str) -> RuntimeState:
        check_id(cid)
        result, _ = self._run(cid, ["state", cid])
        if result.returncode != 0:
            shutil.rmtree(self._work(cid), ignore_errors=True)
            self._fail(cid, "state", result)
        data = json.loads(result.stdout)
        # paused is still alive: report it as running (the interface has three states)
        status = {"created": "created", "running": "running", "paused": "running"}.get(data["status"], "stopped")
        return RuntimeState(id=cid, status=status, pid=int(data.get("pid") or 0), bundle=data.get("bundle", ""))

    @os_errors("kill")
    def kill(self, cid: str, sig: int, all: bool = False) -> None:
        self._simple(cid, "kill", ["kill"] + (["--all"] if all else []) + [cid, str(int(sig))])

    @os_errors("delete")
    def delete(self, cid: str, force: bool = False) -> None:
        try:
            self._simple(cid, "delete", ["delete"] + (["--force"] if force else []) + [cid])
        except ContainerNotFound:
            shutil.rmtree(self._work(cid), ignore_errors=True)  # our files of a create that died
            raise
        shutil.rmtree(self._work(cid), ignore_errors=True)

    def _simple(self, cid: str, verb: str, args: list[str]) -> None:
        check_id(cid)
        result, _ = self._run(cid, args)
        if result.returncode != 0:
            self._fail(cid, verb, result)

    @os_errors("exec")
    def exec(self, cid: str, process: dict, stdio: Stdio, detach: bool = False) -> Created:
        problem = check_process_object(process)
        if problem:
            raise InvalidArgument(problem)
        check_id(cid)
        if any(k not in process for k in INHERITED):
            process = with_container_defaults(process, Path(self.state(cid).bundle))
        work = self._work(cid)
        tag = os.urandom(4).hex()
        proc_file, pidfile = work / f"process-{tag}.json", work / f"exec-{tag}.pid"
        proc_file.write_text(json.dumps(dict(process, terminal=stdio.terminal)))
        try:
            result, master = self._run(cid, ["exec", "--process", str(proc_file), "--detach",
                                             "--pid-file", str(pidfile), cid], stdio, console=stdio.terminal)
            if result.returncode != 0:
                self._fail(cid, "exec", result)
            return Created(pid=int(pidfile.read_text()), pty_master=master)
        finally:
            proc_file.unlink(missing_ok=True)
            pidfile.unlink(missing_ok=True)

    @os_errors("oom_killed")
    def oom_killed(self, cid: str) -> bool:
        st = self.state(cid)
        try:
            spec = json.loads((Path(st.bundle) / "config.json").read_text())
        except (OSError, ValueError):
            return False
        path = (spec.get("linux") or {}).get("cgroupsPath") or f"/{cid}"
        return open_cgroup(path).oom_killed()


def _receive_master(listener: socket.socket, proc: subprocess.Popen) -> int | None:
    """Accept runc's connection on the console socket and take the pty master it sends."""
    listener.settimeout(0.02)
    while True:
        try:
            conn, _ = listener.accept()
            break
        except (TimeoutError, socket.timeout):
            if proc.poll() is not None:
                listener.setblocking(False)
                try:
                    conn, _ = listener.accept()
                    break
                except BlockingIOError:
                    return None
    with conn:
        conn.settimeout(10)
        _, fds, _, _ = socket.recv_fds(conn, 4096, 1)
    return fds[0] if fds else None


def _log_error(log: Path) -> str:
    """The last error message from runc's JSON log."""
    msg = ""
    try:
        lines = log.read_text().splitlines()
    except OSError:
        return msg
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("level") in ("error", "fatal"):
            msg = entry.get("msg", msg)
    return msg
