"""The monitor's idle phase: pump a running container's output to its log and to
attach clients, pass input and signals on, and notice when it exits.

Kept lean on purpose: a detached container's monitor execs a fresh interpreter
(`-I -S`) that imports only this module and the stdlib pieces it needs, so an
idle container costs a few MB instead of a copy of the whole CLI's heap. When
the container exits it execs again into `sampan.engine.finish`, which records
the exit and cleans up with the full engine.
"""

from __future__ import annotations

import _socket  # not socket.py: its enums cost memory in every idle monitor
import errno
import fcntl
import marshal
import os
import select
import _signal  # not signal.py, which imports enum
import struct
import sys
import termios
import time

from sampan.engine import attach
from sampan.engine.logs import LogWriter


def exit_code(status: int) -> int:
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


class HealthTimer:
    """Runs the container's healthcheck on Docker's schedule: one probe process at a time
    (health_probe.py, a fresh interpreter), the next one an interval after the last ended;
    the start interval instead while the health is `starting` within the start period.
    Exists only for containers with a healthcheck: the others' monitors pay nothing."""

    def __init__(self, spec: dict) -> None:
        # spec: interval, start_interval, start_period, timeout (seconds), started (monotonic),
        # argv (the probe's command line)
        self.spec = spec
        # carried over when the monitor execs its lean self with a probe under way
        self.pid, self.kill_at = spec.get("pid", 0), spec.get("kill_at", 0.0)
        self.starting = spec.get("starting", True)
        self.due = spec.get("due") or spec["started"] + self._interval(spec["started"])

    def state(self) -> dict:
        return dict(self.spec, pid=self.pid, kill_at=self.kill_at, starting=self.starting, due=self.due)

    def _interval(self, now: float) -> float:
        s = self.spec
        if self.starting and now - s["started"] < s["start_period"]:
            return s["start_interval"]
        return s["interval"]

    def wait_for(self, now: float) -> float:
        """Seconds until something is due: the next probe, or killing one that hangs."""
        return max(0.0, (self.kill_at if self.pid else self.due) - now)

    def tick(self, now: float) -> None:
        if self.pid == 0 and now >= self.due:
            argv = self.spec["argv"]
            try:
                self.pid = os.posix_spawn(argv[0], argv, os.environ)
            except OSError as e:  # (no memory, no interpreter): the monitor must go on pumping
                sys.stderr.write(f"sampan: cannot start a health probe: {e}\n")
                self.due = now + self.spec["interval"]
                return
            # the probe kills the check at its timeout; this is for a probe that hangs itself
            self.kill_at = now + self.spec["timeout"] + 60
        elif self.pid and now >= self.kill_at:
            self.stop()

    def reaped(self, status: int) -> None:
        self.pid = 0
        self.starting = os.WIFEXITED(status) and os.WEXITSTATUS(status) == 10  # health_probe.STILL_STARTING
        now = time.monotonic()
        self.due = now + self._interval(now)

    def stop(self) -> None:
        if self.pid:
            try:
                os.kill(self.pid, 9)
                os.waitpid(self.pid, 0)
            except OSError:
                pass
            self.pid = 0
            self.due = time.monotonic() + self.spec["interval"]


class PumpLoop:
    """Pump container output to logs and attach clients until the container exits."""

    def __init__(self, pid: int, logw: LogWriter, listener, clients: list,
                 wake_r: int, stdin_w: int | None, outputs: dict[int, str], master: int | None,
                 health: HealthTimer | None = None):
        self.pid, self.logw, self.listener = pid, logw, listener
        self.wake_r, self.stdin_w, self.master = wake_r, stdin_w, master
        self.outputs = dict(outputs)
        self.poll = select.epoll()
        self.kinds: dict[int, tuple[str, object]] = {}
        self.clients: dict[_socket.socket, attach.FrameReader] = {}
        self._watch(listener.fileno(), "listen", listener)
        self._watch(wake_r, "wake", None)
        for fd in self.outputs:
            self._watch(fd, "out", None)
        for c in clients:
            self._add_client(c)
        self.status: int | None = None
        self.health = health

    def _watch(self, fd: int, kind: str, obj) -> None:
        self.kinds[fd] = (kind, obj)
        self.poll.register(fd, select.EPOLLIN)

    def _unwatch(self, fd: int) -> None:
        self.kinds.pop(fd, None)
        self.poll.unregister(fd)

    def _add_client(self, c) -> None:
        self.clients[c] = attach.FrameReader()
        self._watch(c.fileno(), "client", c)

    def _drop_client(self, c) -> None:
        self._unwatch(c.fileno())
        self.clients.pop(c, None)
        c.close()

    def _broadcast(self, frame: bytes) -> None:
        for c in list(self.clients):
            try:
                c.sendall(frame)
            except OSError:
                self._drop_client(c)

    def send_exit(self, info: dict) -> None:
        send_exit(list(self.clients), info)
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
                if self.health is not None:
                    self.health.stop()  # a probe of an exited container: no result to keep
            elif self.health is not None and pid == self.health.pid:
                self.health.reaped(status)

    def _on_output(self, fd: int) -> None:
        try:
            data = os.read(fd, 65536)
        except OSError as e:
            if e.errno != errno.EIO:  # EIO: the pty's last slave closed
                raise
            data = b""
        if not data:
            self._unwatch(fd)
            del self.outputs[fd]
            if fd != self.master:
                os.close(fd)
            return
        stream = self.outputs[fd]
        self.logw.write(stream, data)
        self._broadcast(attach.encode(attach.STDOUT if stream == "stdout" else attach.STDERR, data))

    def _on_client(self, c) -> None:
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
                fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
            elif kind == attach.SIGNAL:
                try:
                    os.kill(self.pid, int(payload))
                except (OSError, ValueError):
                    pass

    def run(self, until: float | None = None) -> int | None:
        """Pump until the container exits: its wait status. With `until` (a monotonic
        time), None once that passes with the container still running."""
        drain_deadline = None
        self._reap()  # it may have exited before we were listening for SIGCHLD
        while True:
            if until is not None and self.status is None and time.monotonic() >= until:
                return None
            if self.status is not None:
                if not self.outputs:
                    return self.status
                if drain_deadline is None:
                    # Output may still sit in the pipes, or a leftover process may hold them open.
                    drain_deadline = time.monotonic() + 0.5
                elif time.monotonic() > drain_deadline:
                    return self.status
            timeout = -1 if self.status is None else 0.05
            if until is not None and self.status is None:
                timeout = max(0.0, until - time.monotonic())
            if self.health is not None and self.status is None:
                due = self.health.wait_for(time.monotonic())
                timeout = due if timeout < 0 else min(timeout, due)
            try:
                events = self.poll.poll(timeout)
            except InterruptedError:
                continue
            for fd, _ in events:
                if fd not in self.kinds:
                    continue
                what, obj = self.kinds[fd]
                if what == "wake":
                    try:
                        os.read(self.wake_r, 512)
                    except BlockingIOError:
                        pass
                    self._reap()
                elif what == "out":
                    self._on_output(fd)
                elif what == "listen":
                    cfd, _ = self.listener._accept()
                    c = _socket.socket(fileno=cfd)
                    c.setblocking(True)
                    self._add_client(c)
                elif what == "client":
                    self._on_client(obj)
            if self.status is None:
                self._reap()
            if self.health is not None and self.status is None:
                self.health.tick(time.monotonic())


def send_exit(clients: list, info: dict) -> None:
    # {"exit_code": 0, "oom_killed": false}, written by hand: no json package here.
    body = ",".join(f'"{k}":{str(v).lower() if isinstance(v, bool) else int(v)}' for k, v in info.items())
    frame = attach.encode(attach.EXIT, ("{" + body + "}").encode())
    for c in clients:
        try:
            c.sendall(frame)
        except OSError:
            pass


def wakeup_pipe() -> int:
    """SIGCHLD (and SIGTERM, ignored) wake the loop through a pipe."""
    wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    _signal.set_wakeup_fd(wake_w)
    _signal.signal(_signal.SIGCHLD, lambda *_: None)
    _signal.signal(_signal.SIGTERM, lambda *_: None)
    for sig in (_signal.SIGINT, _signal.SIGHUP, _signal.SIGPIPE):
        _signal.signal(sig, _signal.SIG_IGN)
    return wake_r


def pack(obj) -> str:
    """Arguments across exec: marshal (builtin, no imports), hex for argv."""
    return marshal.dumps(obj).hex()


def unpack(arg: str):
    return marshal.loads(bytes.fromhex(arg))


def lean_main(arg: str) -> None:
    """Entry point of the exec'd idle monitor. `arg` comes from monitor._exec_lean()."""
    job = unpack(arg)
    wake_r = wakeup_pipe()
    listener = _socket.socket(fileno=job["listener"])
    outputs = {int(fd): stream for fd, stream in job["outputs"].items()}
    logw = LogWriter(job["log"], job["max_size"], job["max_files"])
    clients = [_socket.socket(fileno=fd) for fd in job.get("clients", ())]  # attached before the start
    health = job.get("health")
    loop = PumpLoop(job["pid"], logw, listener, clients, wake_r, job["stdin_w"], outputs, job["master"],
                    HealthTimer(health) if health else None)
    status = loop.run()
    assert status is not None  # no deadline: run() returns at the exit
    logw.close()
    client_fds = [c.detach() for c in list(loop.clients)]
    for fd in client_fds:
        os.set_inheritable(fd, True)
    finish = {"cid": job["cid"], "code": exit_code(status), "clients": client_fds, "listener": job["listener"],
              "root": job["root"], "runroot": job["runroot"], "runtime": job["runtime"],
              "restart_delay": job.get("restart_delay", 0.0)}
    boot = ("import sys; from sampan.engine.monitor_loop import unpack; sys.path[:0] = unpack(sys.argv[2]); "
            "from sampan.engine.finish import main; main(sys.argv[3])")
    os.execv(sys.executable, [sys.executable, "-I", "-S", "-c", "import sys; sys.path.insert(0, sys.argv[1]); "
                              + boot, job["pkg_parent"], pack(job["sys_path"]), pack(finish)])
