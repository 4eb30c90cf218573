"""The monitor: a small process per running container that outlives the CLI.

It is forked, in a session of its own, from the CLI that starts the container,
once that CLI has mounted the root filesystem and made the network sandbox
(runstate.prepare_start; the monitor inherits the sandbox's host-port sockets).
It asks the OCI runtime to create and start the container as its own child (it
is a child subreaper), owns the container's stdio, writes the logs, serves
attach clients, records the exit code and time, cleans mounts and runtime
state, and honours --rm.

It talks back to the CLI that spawned it through a status pipe (JSON lines):
{"phase": "created"} when an attach client may connect, then {"ok": true,
"pid": N} or {"error": "...", "kind": "CommandNotFound", "exit_code": 127}.
"""

from __future__ import annotations

import gc
import json
import os
import signal
import socket
import sys
import time
import traceback

from sampan.engine import procs, runstate
from sampan.engine.logs import LogWriter
from sampan.engine.monitor_loop import PumpLoop, exit_code, wakeup_pipe
from sampan.engine.records import now_rfc3339
from sampan.errors import SampanError
from sampan.state.db import close_all
from sampan.state import explain
from sampan.state.trace import mark


# How long a detached container's monitor stays as it was forked before it execs its lean
# idle self: long enough for a container that exits at once to be finished without two
# more interpreter starts (~40 ms), short enough that idle containers cost little memory.
LEAN_AFTER = 0.25


class MonitorJob:
    __slots__ = ("rec", "sandbox", "attach_wait", "open_stdin", "tty", "restart_delay")

    def __init__(self, rec, sandbox, attach_wait: bool, open_stdin: bool, tty: bool,
                 restart_delay: float = 0.0) -> None:
        self.rec = rec                  # the container, as prepare_start left it
        self.sandbox = sandbox          # networking.Sandbox: its port sockets stay open in the monitor
        self.attach_wait = attach_wait  # wait for one attach client before starting (run, start -a)
        self.open_stdin = open_stdin    # -i: a stdin pipe fed by attach clients
        self.tty = tty
        self.restart_delay = restart_delay  # the wait before this start, when a policy restarts it

    @property
    def cid(self) -> str:
        return self.rec.id


_spawned: set[int] = set()  # monitors this process forked and has not reaped yet


def spawn(ctx, job: MonitorJob) -> tuple[int, int]:
    """Fork the monitor. Returns (status_read_fd, monitor_pid).

    One fork, not a daemon's two: the monitor is this process's child until this
    process exits (the CLI, moments later), and a longer-lived caller reaps it at
    its next spawn. setsid() keeps it out of the terminal's job control."""
    _reap_finished()
    close_all()  # SQLite must never be carried across fork (see state.db); both sides reopen
    r, w = os.pipe2(os.O_CLOEXEC)
    keep = [w] + [s.fileno() for s in (job.sandbox.sockets if job.sandbox else [])]
    # Keep the forked monitor's collections off the parent's heap pages. A zygote worker's
    # heap is frozen already (cli/zygote.py): leave that as it is afterwards.
    thaw = gc.get_freeze_count() == 0
    gc.freeze()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            os.setsid()
            _close_inherited_fds(keep)
            _run(ctx, job, w)
        except BaseException:  # never return into the CLI's code in a forked child
            try:
                traceback.print_exc()  # the monitor's log, once _run has made stderr that log
                sys.stderr.flush()
            except Exception:
                pass
            try:
                os.write(w, (json.dumps({"error": "monitor crashed: " + traceback.format_exc(limit=3)
                                         .strip().splitlines()[-1]}) + "\n").encode())
            except OSError:
                pass
        os._exit(0)
    if thaw:
        gc.unfreeze()
    os.close(w)
    _spawned.add(pid)
    return r, pid


def _reap_finished() -> None:
    for pid in list(_spawned):
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            done = pid
        if done:
            _spawned.discard(pid)


def _close_inherited_fds(keep: list[int]) -> None:
    """Drop every fd the CLI had open (e.g. a container lock held by `start`): the monitor
    lives long, and an inherited flock would be held for the container's whole life."""
    low = 3
    for fd in sorted(set(keep)):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, 65536)


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
    explain.explain(explain.WAIT)  # the CLI's printer waits for its lines (cleanup too, in the foreground)
    explain.explain("monitor", f"pid {os.getpid()} will own the container's stdio, logs and exit code")
    rec, sandbox = job.rec, job.sandbox
    wake_r = wakeup_pipe()

    runtime = ctx.runtime_for(rec)
    if runtime.name != "native":
        explain.explain("runtime", f"{runtime.name} makes the namespaces, the cgroup and the root and execs PID 1 "
                        f"itself: those steps are not shown (the native runtime shows them)")
    fds_for_child: list[int] = []
    stdin_w = out_r = err_r = master = None
    try:
        mark("monitor: runtime create")
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
        # the database is first needed once the container runs: open it while its init mounts
        created = runtime.create(job.cid, cdir, stdio, meanwhile=lambda: ctx.containers.db.conn)
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
        clients += _connect_waiters(ctx, job.cid)
        mark("monitor: runtime start")
        runtime.start(job.cid)
        mark("monitor: started")
    except BaseException as e:
        _fail_start(ctx, rec, runtime, e, status_fd)
        explain.explain(explain.DONE)
        os._exit(0)

    pid = created.pid
    me = os.getpid()
    ctx.containers.update(job.cid, state="running", pid=pid, pid_start=procs.start_time(pid),
                          monitor_pid=me, monitor_start=procs.start_time(me),
                          started_at=now_rfc3339(), exit_code=0, oom_killed=False, error="",
                          finished_at="")
    # Before the client is told (Docker's start returns after its start event and a fresh
    # health): a command right after the start sees both; and start precedes this monitor's die.
    from sampan.engine.events import container_event
    container_event(ctx, rec, "start")
    if "healthcheck" in rec.config:
        from sampan.engine import health_state
        health_state.reset(ctx, job.cid)
    _say(status_fd, {"ok": True, "pid": pid})
    os.close(status_fd)
    if not job.attach_wait:  # the CLI returns now: its printer waits no more for this one
        explain.explain(explain.DONE)
        explain.stop()

    health = _health_timer(ctx, job) if "healthcheck" in rec.config else None
    log_cfg = rec.config.get("log", {})
    outputs: dict[int, str] = ({out_r: "stdout", err_r: "stderr"} if master is None  # type: ignore[dict-item]
                               else {master: "stdout"})  # the pipes, made when there is no pty
    log_path = str(cdir / f"{job.cid}-json.log")
    max_size, max_files = log_cfg.get("max_size", 10 * 1024 * 1024), log_cfg.get("max_files", 3)
    if rec.config.get("log_driver") == "none":  # output goes to attached clients only
        log_path, max_size = os.devnull, 1 << 62  # never rotated: /dev/null is not renamed
    logw = LogWriter(log_path, max_size, max_files)
    loop = PumpLoop(pid, logw, listener, clients, wake_r, stdin_w, outputs, master, health)
    if job.attach_wait:
        status = loop.run()
    else:
        # Detached: a container that is done at once (`run -d --rm true`, an API client's
        # short job) is finished right here; one that lives on idles in a lean interpreter
        # instead of a copy of the CLI's heap, and execs once more to finish.
        status = loop.run(until=time.monotonic() + LEAN_AFTER)
        if status is None:
            logw.close()
            _exec_lean(ctx, job, pid, loop.outputs, master, loop.stdin_w, listener, sandbox, log_path,
                       max_size, max_files, runtime.name, list(loop.clients), health)
    assert status is not None  # run() without a deadline returns the exit status; _exec_lean never returns
    mark("monitor: exited")
    logw.close()
    from sampan.engine.finish import finish
    explain.explain("exit", f"PID 1 (host pid {pid}) ended: exit code {exit_code(status)}")
    finish(ctx, job.cid, exit_code(status), runtime, notify=loop.send_exit, restart_delay=job.restart_delay,
           listener=listener)
    explain.explain(explain.DONE)
    mark("monitor: finished")
    os._exit(0)


def _exec_lean(ctx, job: MonitorJob, pid: int, outputs: dict, master, stdin_w, listener,
               sandbox, log_path: str, max_size: int, max_files: int, runtime_name: str,
               clients: list, health=None) -> None:
    keep = list(outputs) + [listener.fileno()] + [s.fileno() for s in (sandbox.sockets if sandbox else [])]
    keep += [c.fileno() for c in clients]
    if stdin_w is not None:
        keep.append(stdin_w)
    for fd in keep:
        os.set_inheritable(fd, True)
    arg = {"cid": job.cid, "pid": pid, "outputs": {str(fd): s for fd, s in outputs.items()},
           "master": master, "stdin_w": stdin_w, "listener": listener.fileno(), "log": log_path,
           "max_size": max_size, "max_files": max_files, "root": str(ctx.paths.root),
           "runroot": str(ctx.paths.runroot), "runtime": runtime_name, "sys_path": list(sys.path),
           "clients": [c.fileno() for c in clients], "restart_delay": job.restart_delay,
           "health": health.state() if health is not None else None}
    from sampan.engine.monitor_loop import pack
    # the directory holding the sampan package, for an interpreter started without site
    arg["pkg_parent"] = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    boot = ("import sys; sys.path.insert(0, sys.argv[1]); "
            "from sampan.engine.monitor_loop import lean_main; lean_main(sys.argv[2])")
    lean = [sys.executable, "-I", "-S", "-c", boot, arg["pkg_parent"], pack(arg)]
    c_monitor = _c_monitor(ctx, job, arg, clients, stdin_w, health)
    if c_monitor:
        exe_fd, argv = c_monitor
        # the very file cmonitor_build checked (fexecve), not whatever the path names now
        try:
            os.execve(exe_fd, argv + ["--"] + lean + ["--"] + _finish_argv(arg), os.environ)
        except OSError:
            pass  # (a noexec mount, say): the Python monitor idles instead
    os.execv(lean[0], lean)


def _c_monitor(ctx, job: MonitorJob, arg: dict, clients: list, stdin_w, health) -> tuple | None:
    """The C idle monitor (cmonitor.c): its open, checked file and its command line, for the
    common case only: no attach client, no -i stdin, no healthcheck, a json-file or no log.
    None: the Python one."""
    if clients or stdin_w is not None or health is not None:
        return None
    if job.rec.config.get("log_driver", "json-file") not in ("json-file", "none"):
        return None
    from sampan.engine import cmonitor_build
    got = cmonitor_build.open_binary(arg["root"])
    if got is None:
        return None
    exe, exe_fd = got
    outputs = ",".join(f"{fd}:{stream}" for fd, stream in arg["outputs"].items())
    master = arg["master"] if arg["master"] is not None else -1
    return exe_fd, [exe, str(arg["pid"]), arg["log"], str(arg["max_size"]), str(arg["max_files"]),
                    str(arg["listener"]), outputs, str(master)]


def _finish_argv(arg: dict) -> list:
    """What lean_main execs at the exit, built here for the C monitor: its last argument is a
    placeholder that the C program replaces with the exit code."""
    from sampan.engine.monitor_loop import pack
    fin = {"cid": arg["cid"], "code": 0, "clients": [], "listener": arg["listener"], "root": arg["root"],
           "runroot": arg["runroot"], "runtime": arg["runtime"], "restart_delay": arg["restart_delay"]}
    boot = ("import sys; sys.path.insert(0, sys.argv[1]); from sampan.engine.monitor_loop import pack, unpack; "
            "sys.path[:0] = unpack(sys.argv[2]); job = unpack(sys.argv[3]); job['code'] = int(sys.argv[4]); "
            "from sampan.engine.finish import main; main(pack(job))")
    return [sys.executable, "-I", "-S", "-c", boot, arg["pkg_parent"], pack(arg["sys_path"]), pack(fin), "0"]


def _health_timer(ctx, job: MonitorJob):
    """The healthcheck's schedule (its health was reset to `starting` before the client
    was told of the start: a new run's, as Docker's)."""
    from sampan.engine.health_config import effective
    from sampan.engine.monitor_loop import HealthTimer, pack
    cfg = effective(job.rec.config["healthcheck"])
    pkg_parent = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    # the probe holds nothing of the monitor's: every inherited descriptor is closed first
    boot = ("import os; os.closerange(3, 65536); import sys; sys.path.insert(0, sys.argv[1]); "
            "from sampan.engine.monitor_loop import unpack; sys.path[:0] = unpack(sys.argv[2]); "
            "from sampan.engine.health_probe import main; main(sys.argv[3])")
    probe = {"cid": job.cid, "root": str(ctx.paths.root), "runroot": str(ctx.paths.runroot),
             "runtime": ctx.runtime_for(job.rec).name}
    argv = [sys.executable, "-I", "-S", "-c", boot, pkg_parent, pack(list(sys.path)), pack(probe)]
    return HealthTimer({"interval": cfg["Interval"] / 1e9, "start_interval": cfg["StartInterval"] / 1e9,
                        "start_period": cfg["StartPeriod"] / 1e9, "timeout": cfg["Timeout"] / 1e9,
                        "started": time.monotonic(), "argv": argv})


def waiter_prefix(ctx, cid: str) -> str:
    """Where attach waiters (attach_wait.py) put their sockets: this + their pid. Beside the
    attach socket, as short (107 bytes at most)."""
    return ctx.attach_socket(cid)[:-len(".sock")] + ".w"


def _connect_waiters(ctx, cid: str) -> list:
    """Before the container starts: a connection to each client that attached while it was
    not running (through the API, from any process), served then as any attach client. A
    dead waiter's socket refuses; it is removed. (Here rather than in attach_wait.py: this
    runs at every start, and that module's import would cost `run` about a millisecond.)"""
    directory, base = os.path.split(waiter_prefix(ctx, cid))
    try:
        names = [n for n in os.listdir(directory) if n.startswith(base)]
    except FileNotFoundError:
        return []
    conns = []
    for name in names:
        path = os.path.join(directory, name)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        try:
            s.settimeout(1.0)
            s.connect(path)
            s.settimeout(None)
            conns.append(s)
        except OSError:
            s.close()
            try:
                os.unlink(path)  # its waiter died
            except OSError:
                pass
    return conns


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
    msg, kind, code = runstate.describe_failure(exc, ctx)
    if not isinstance(exc, SampanError):
        traceback.print_exc()  # a bug: the monitor's log keeps the traceback
    try:
        runstate.record_failed_start(ctx, rec, exc, runtime)
    except Exception:
        traceback.print_exc()
    _say(status_fd, {"error": msg, "kind": kind, "exit_code": code})
