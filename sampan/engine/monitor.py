"""The monitor: a small process per running container that outlives the CLI.

It is forked (twice, so it is nobody's zombie) from the CLI that starts the
container. It mounts the root filesystem, asks the OCI runtime to create and
start the container as its own child (it is a child subreaper), owns the
container's stdio, writes the logs, serves attach clients, records the exit
code and time, cleans mounts and runtime state, and honours --rm.

It talks back to the CLI that spawned it through a status pipe (JSON lines):
{"phase": "created"} when an attach client may connect, then {"ok": true,
"pid": N} or {"error": "...", "kind": "CommandNotFound", "exit_code": 127}.
"""

from __future__ import annotations

import errno
import fcntl
import gc
import json
import os
import selectors
import signal
import socket
import sys
import termios
import traceback

from sampan.engine import attach, procs, runstate
from sampan.engine.logs import LogWriter
from sampan.engine.records import now_rfc3339
from sampan.errors import SampanError


class MonitorJob:
    __slots__ = ("cid", "attach_wait", "open_stdin", "tty")

    def __init__(self, cid: str, attach_wait: bool, open_stdin: bool, tty: bool) -> None:
        self.cid = cid
        self.attach_wait = attach_wait  # wait for one attach client before starting (run, start -a)
        self.open_stdin = open_stdin    # -i: a stdin pipe fed by attach clients
        self.tty = tty


def spawn(ctx, job: MonitorJob) -> tuple[int, int]:
    """Fork the monitor. Returns (status_read_fd, monitor_pid)."""
    # SQLite must never be carried across fork: a child that closes an inherited
    # connection drops the parent's POSIX locks, and a later writer may then lose
    # the WAL. Close it here; both sides reopen lazily.
    ctx.db.close()
    r, w = os.pipe2(os.O_CLOEXEC)
    pid_r, pid_w = os.pipe2(os.O_CLOEXEC)
    gc.freeze()  # keep the forked monitor from dirtying the parent's heap pages
    first = os.fork()
    if first == 0:
        try:
            os.close(r)
            os.close(pid_r)
            os.setsid()
            second = os.fork()
            if second:
                os.write(pid_w, str(second).encode())
                os._exit(0)
            os.close(pid_w)
            _close_inherited_fds(keep=w)
            _run(ctx, job, w)
        except BaseException:  # never return into the CLI's code in a forked child
            try:
                os.write(w, (json.dumps({"error": "monitor crashed: " + traceback.format_exc(limit=3)
                                         .strip().splitlines()[-1]}) + "\n").encode())
            except OSError:
                pass
        os._exit(0)
    os.close(w)
    os.close(pid_w)
    os.waitpid(first, 0)
    data = os.read(pid_r, 32)
    os.close(pid_r)
    gc.unfreeze()
    return r, int(data or b"0")


def _close_inherited_fds(keep: int) -> None:
    """Drop every fd the CLI had open (e.g. a container lock held by `start`): the monitor
    lives long, and an inherited flock would be held for the container's whole life."""
    os.closerange(3, keep)
    os.closerange(keep + 1, 65536)


def _daemonize_stdio(log_path: str) -> None:
    devnull = os.open(os.devnull, os.O_RDWR)
    err = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.dup2(err, 2)
    os.close(devnull)
    os.close(err)
    sys.stdin = open(os.devnull)
    sys.stdout = open(os.devnull, "w")
    sys.stderr = os.fdopen(2, "w", buffering=1)


def _say(fd: int | None, msg: dict) -> None:
    if fd is None:
        return
    try:
        os.write(fd, (json.dumps(msg) + "\n").encode())
    except OSError:
        pass


def _run(ctx, job: MonitorJob, status_fd: int) -> None:
    from sampan.runtime.base import Stdio, become_subreaper

    cdir = ctx.paths.container_dir(job.cid)
    _daemonize_stdio(str(cdir / "monitor.log"))
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    become_subreaper()
    table = ctx.containers
    rec = table.get(job.cid)
    me = os.getpid()
    table.update(job.cid, monitor_pid=me, monitor_start=procs.start_time(me))

    wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.signal(signal.SIGTERM, lambda *_: None)

    runtime = ctx.runtime_for(rec)
    fds_for_child: list[int] = []
    stdin_w = out_r = err_r = master = None
    try:
        sandbox = runstate.prepare_start(ctx, rec)  # rootfs, network; sandbox holds host ports
        if job.tty:
            stdio = Stdio(terminal=True)
        else:
            out_r, out_w = os.pipe2(os.O_CLOEXEC)
            err_r, err_w = os.pipe2(os.O_CLOEXEC)
            in_fd = None
            if job.open_stdin:
                in_r, stdin_w = os.pipe2(os.O_CLOEXEC)
                in_fd = in_r
                fds_for_child.append(in_r)
            fds_for_child += [out_w, err_w]
            stdio = Stdio(stdin=in_fd, stdout=out_w, stderr=err_w)
        created = runtime.create(job.cid, cdir, stdio)
        for fd in fds_for_child:
            os.close(fd)
        master = created.pty_master
        if master is not None and job.open_stdin:
            stdin_w = master
        listener = _listen(ctx.attach_socket(job.cid))
        _say(status_fd, {"phase": "created"})
        clients: list[socket.socket] = []
        if job.attach_wait:
            listener.settimeout(30)
            try:
                c, _ = listener.accept()
                c.setblocking(True)
                clients.append(c)
            except socket.timeout:
                pass
        runtime.start(job.cid)
    except BaseException as e:
        _fail_start(ctx, rec, runtime, e, status_fd)
        os._exit(0)

    pid = created.pid
    table.update(job.cid, state="running", pid=pid, pid_start=procs.start_time(pid),
                 started_at=now_rfc3339(), exit_code=0, oom_killed=False, error="",
                 finished_at="")
    _say(status_fd, {"ok": True, "pid": pid})
    os.close(status_fd)

    log_cfg = rec.config.get("log", {})
    logw = LogWriter(cdir / f"{job.cid}-json.log", log_cfg.get("max_size", 10 * 1024 * 1024),
                     log_cfg.get("max_files", 3))
    loop = _Loop(pid, logw, listener, clients, wake_r, stdin_w,
                 {out_r: "stdout", err_r: "stderr"} if master is None else {master: "stdout"},
                 master, runtime, job.cid)
    status = loop.run()
    logw.close()
    code = _exit_code(status)
    oom = False
    try:
        oom = code == 137 and runtime.oom_killed(job.cid)
    except Exception:
        pass
    table.update(job.cid, state="exited", exit_code=code, finished_at=now_rfc3339(), oom_killed=oom)
    try:
        runstate.cleanup_after_exit(ctx, table.get(job.cid) or rec, runtime)
    except Exception:
        traceback.print_exc()
    loop.send_exit({"exit_code": code, "oom_killed": oom})
    os._exit(0)


def _exit_code(status: int) -> int:
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def _listen(path: str) -> socket.socket:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    s.bind(path)
    os.chmod(path, 0o600)
    s.listen(8)
    return s


def _fail_start(ctx, rec, runtime, exc: BaseException, status_fd: int) -> None:
    if isinstance(exc, SampanError):
        msg, kind, code = exc.message, type(exc).__name__, exc.exit_code
    else:
        msg, kind, code = f"{type(exc).__name__}: {exc}", "RuntimeFailure", 125
        traceback.print_exc()
    try:
        ctx.containers.update(rec.id, state="exited" if rec.state != "created" else "created",
                              exit_code=code, error=msg, finished_at=now_rfc3339())
        runstate.cleanup_after_exit(ctx, rec, runtime)
    except Exception:
        traceback.print_exc()
    _say(status_fd, {"error": msg, "kind": kind, "exit_code": code})


class _Loop:
    """Pump container output to logs and attach clients until the container exits."""

    def __init__(self, pid, logw, listener, clients, wake_r, stdin_w, outputs, master, runtime, cid):
        self.pid, self.logw, self.listener = pid, logw, listener
        self.wake_r, self.stdin_w, self.master = wake_r, stdin_w, master
        self.outputs = dict(outputs)
        self.runtime, self.cid = runtime, cid
        self.sel = selectors.DefaultSelector()
        self.clients: dict[socket.socket, attach.FrameReader] = {}
        self.sel.register(listener, selectors.EVENT_READ, "listen")
        self.sel.register(wake_r, selectors.EVENT_READ, "wake")
        for fd in self.outputs:
            self.sel.register(fd, selectors.EVENT_READ, "out")
        for c in clients:
            self._add_client(c)
        self.status: int | None = None

    def _add_client(self, c: socket.socket) -> None:
        self.clients[c] = attach.FrameReader()
        self.sel.register(c, selectors.EVENT_READ, "client")

    def _drop_client(self, c: socket.socket) -> None:
        self.sel.unregister(c)
        self.clients.pop(c, None)
        c.close()

    def _broadcast(self, frame: bytes) -> None:
        for c in list(self.clients):
            try:
                c.sendall(frame)
            except OSError:
                self._drop_client(c)

    def send_exit(self, info: dict) -> None:
        self._broadcast(attach.encode(attach.EXIT, json.dumps(info).encode()))
        for c in list(self.clients):
            self._drop_client(c)

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid == self.pid:
                self.status = status

    def _on_output(self, fd: int) -> None:
        try:
            data = os.read(fd, 65536)
        except OSError as e:
            if e.errno != errno.EIO:  # EIO: the pty's last slave closed
                raise
            data = b""
        if not data:
            self.sel.unregister(fd)
            del self.outputs[fd]
            if fd != self.master:
                os.close(fd)
            return
        stream = self.outputs[fd]
        self.logw.write(stream, data)
        self._broadcast(attach.encode(attach.STDOUT if stream == "stdout" else attach.STDERR, data))

    def _on_client(self, c: socket.socket) -> None:
        try:
            data = c.recv(65536)
        except OSError:
            data = b""
        if not data:
            self._drop_client(c)
            return
        for kind, payload in self.clients[c].feed(data):
            if kind == attach.STDIN and self.stdin_w is not None:
                try:
                    os.write(self.stdin_w, payload)
                except OSError:
                    pass
            elif kind == attach.STDIN_EOF and self.stdin_w is not None and self.stdin_w != self.master:
                os.close(self.stdin_w)
                self.stdin_w = None
            elif kind == attach.RESIZE and self.master is not None:
                rows, cols = attach.parse_resize(payload)
                import struct
                fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
            elif kind == attach.SIGNAL:
                try:
                    os.kill(self.pid, int(payload))
                except (OSError, ValueError):
                    pass

    def run(self) -> int:
        drain_deadline = None
        import time
        while True:
            if self.status is not None:
                if not self.outputs:
                    return self.status
                if drain_deadline is None:
                    # Output may still sit in the pipes, or a leftover process may hold them open.
                    drain_deadline = time.monotonic() + 0.5
                elif time.monotonic() > drain_deadline:
                    return self.status
            timeout = None if self.status is None else 0.05
            for key, _ in self.sel.select(timeout):
                what = key.data
                if what == "wake":
                    try:
                        os.read(self.wake_r, 512)
                    except BlockingIOError:
                        pass
                    self._reap()
                elif what == "out":
                    self._on_output(key.fd)
                elif what == "listen":
                    c, _ = self.listener.accept()
                    c.setblocking(True)
                    self._add_client(c)
                elif what == "client":
                    self._on_client(key.fileobj)
            if self.status is None:
                self._reap()
