"""The zygote: a warm sampan process with a worker forked ahead for the next command.

Started in the background by a CLI that found none (`python -m sampan.cli.zygote
RUNROOT`), it imports the modules the common commands need and listens on
RUNROOT/zygote.sock (root only). One forked "spare" waits on that socket; the
client it accepts hands over its stdio, cwd, umask and environment, and the spare
runs the command as the CLI would, while the zygote forks the next spare. The
zygote holds no state of its own (no database handle, no caches used), so every
worker starts clean. It exits when idle for a while, when its run root
disappears, when its code changed on disk or a client runs another Python (a
new venv), or on `sampan system zygote stop`; its spare follows it.
"""

from __future__ import annotations

import array
import io
import marshal
import os
import select
import signal
import socket
import sys
import time

from sampan.cli.zygote_client import SOCKET_NAME, code_stamp

IDLE_EXIT = 600.0       # seconds without a request
# What a spare worker tells the zygote, one line each: it took a client; stop (asked to,
# or the code changed); keep PATH (a database its command uses: see _fork_keeper).
TOOK, STOP, KEEP = b"took", b"stop", b"keep "
_PRELOAD = ("sampan.cli.commands.run", "sampan.cli.commands.ps", "sampan.cli.commands.lifecycle",
            "sampan.cli.commands.exec", "sampan.cli.commands.logs", "sampan.cli.commands.start",
            "sampan.cli.commands.images", "sampan.cli.commands.inspect", "sampan.cli.attach_client",
            "sampan.cli.tty_proxy", "sampan.engine.engine", "sampan.engine.create",
            "sampan.engine.lifecycle", "sampan.engine.monitor", "sampan.engine.finish",
            "sampan.engine.execute", "sampan.engine.exec_io", "sampan.runtime.native_exec",
            "sampan.engine.networking", "sampan.engine.views",
            "sampan.engine.containers_api", "sampan.engine.images_api", "sampan.engine.reports",
            "sampan.store", "sampan.store.images", "sampan.runtime.native", "sampan.runtime.base",
            "sampan.runtime.seccomp",
            "sampan.network", "sampan.network.manager", "sampan.specgen.spec", "sampan.volumes",
            "sqlite3", "json", "selectors", "tarfile", "random", "shutil",
            # build's own (a cached rebuild is ~20 ms of work after ~60-100 ms of imports in a
            # fresh worker); never `dockerfile`, the Go parser: a Go runtime does not survive fork
            "sampan.cli.commands.build", "sampan.build.executor", "sampan.engine.build_backend",
            "sampan.engine.build_scratch", "sampan.build.progress",
            # pull's, without httpx (registry/transport.py): a re-pull of a known image is then
            # ~10 ms of work; ~3 MiB more of the zygote's anonymous memory (14.4 -> 17.4 MiB)
            "sampan.cli.commands.registry", "sampan.registry.pull")
_PYTHON = os.path.realpath(sys.executable)  # a client of another interpreter gets a zygote of its own
# Built once here rather than in every worker (module, function, argument)
_WARM = (("sampan.cli.commands.run", "container_parser", "run"),
         ("sampan.runtime.seccomp", "warm", None),  # dlopen libseccomp once
         # the system CA bundle (~50-95 ms to parse, ~0.8 MiB): any pull from an HTTPS registry
         # parsed it again; tls.ssl_context hands it out only where the same CAs apply
         ("sampan.registry.tls", "warm_system_cas", None))


def _recv_request(conn: socket.socket) -> tuple[dict, list[int]] | None:
    head, fds = _recvmsg(conn, 4)
    if len(head) < 4:
        return None
    size = int.from_bytes(head, "big")
    body = b""
    while len(body) < size:
        chunk, more = _recvmsg(conn, size - len(body))
        if not chunk:
            return None
        body += chunk
        fds += more
    return marshal.loads(body), fds


def _recvmsg(conn: socket.socket, n: int) -> tuple[bytes, list[int]]:
    fds = array.array("i")
    data, ancdata, _, _ = conn.recvmsg(n, socket.CMSG_SPACE(16 * fds.itemsize))
    for level, kind, payload in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(payload[: len(payload) - (len(payload) % fds.itemsize)])
    return data, list(fds)


def _become_worker(conn: socket.socket, req: dict, fds: list[int], events_w: int) -> None:
    """In the forked child: take the client's place, run the command, report its exit code."""
    for sig in (signal.SIGCHLD, signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    # as in any Python process: a closed stdout (`sampan images | head -1`) is an EPIPE the
    # command ends on quietly, not a SIGPIPE that kills the worker before it answers
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    for target, fd in enumerate(fds[:3]):
        os.dup2(fd, target)
    for fd in fds:
        if fd > 2:
            os.close(fd)
    os.chdir(req["cwd"])
    os.umask(req["umask"])
    os.environ.clear()
    os.environ.update(req["env"])
    sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding="utf-8", errors="replace")
    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8", errors="replace",
                                  line_buffering=os.isatty(1), write_through=not os.isatty(1))
    sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding="utf-8",
                                  errors="backslashreplace", line_buffering=True)
    sys.argv = ["sampan"] + list(req["argv"])
    _ask_for_keeper(list(req["argv"]), events_w)
    os.close(events_w)
    conn.sendall(os.getpid().to_bytes(4, "big"))
    from sampan.state.trace import mark
    mark("zygote worker start")
    from sampan.cli.main import run_command
    try:
        code = run_command(list(req["argv"]))
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except KeyboardInterrupt:
        code = 130
    except BaseException:  # --debug lets a bug through: show it as Python would, exit 1
        import traceback
        traceback.print_exc()
        code = 1
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except OSError:
        pass
    try:
        conn.sendall(int(code).to_bytes(4, "big", signed=True))
    except OSError:
        pass
    os._exit(0)


def _ask_for_keeper(argv: list[str], events_w: int) -> None:
    from sampan.cli.global_options import parse_globals
    from sampan.state.paths import Paths

    g, _ = parse_globals(argv)
    db = str(Paths.from_env(g.root, g.runroot).db)  # with the client's cwd and environment
    if os.path.exists(db) and len(db) < 4000:
        os.write(events_w, KEEP + db.encode() + b"\n")


def _fork_keeper(db: str, alive_r: int) -> None:
    """Hold db open in a process of its own while the zygote lives. A command's last
    act on the database before it forks a monitor is to close it, and SQLite
    checkpoints the WAL into the database (an fsync, ~2 ms here) when the connection
    closing is the last one open; with this one open it never is. The WAL is still
    checkpointed every 1000 pages by the commit that crosses that mark.
    Forked from the zygote, which never opens a database, so it inherits none."""
    if os.fork():
        return
    try:
        os.closerange(3, alive_r)
        os.closerange(alive_r + 1, 65536)
        import sqlite3
        conn = sqlite3.connect(f"file:{db}?mode=rw", uri=True, timeout=30)
        conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()  # open it; no transaction is kept
        select.select([alive_r], [], [])  # until the zygote is gone
    except Exception:
        pass
    finally:
        os._exit(0)


def serve(runroot: str) -> None:
    import gc
    import importlib

    for name in _PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:
            pass  # the command that needs it imports it again and tells its own user why it fails
    for module, func, arg in _WARM:
        try:
            getattr(sys.modules[module], func)(arg)
        except Exception:
            pass
    gc.freeze()  # what is loaded now is never collected: forked workers do not copy it page by page
    stamp = code_stamp()
    path = os.path.join(runroot, SOCKET_NAME)
    tmp = f"{path}.{os.getpid()}"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(tmp)
    os.chmod(tmp, 0o600)
    listener.listen(64)
    os.replace(tmp, path)  # the newest zygote takes over the name
    inode = os.stat(path).st_ino
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # workers are reaped by the kernel
    events_r, events_w = os.pipe2(os.O_CLOEXEC)  # spare -> zygote: TOOK a request, or STOP
    alive_r, alive_w = os.pipe2(os.O_CLOEXEC)    # zygote -> spare: end of file once it is gone
    pipes = (events_w, alive_r, alive_w)
    _fork_spare(listener, pipes, stamp)
    last = time.monotonic()
    kept: set[str] = set()
    pending = b""
    stop = False
    while not stop:
        ready, _, _ = select.select([events_r], [], [], 1.0)
        if not ready:
            if (time.monotonic() - last > IDLE_EXIT or not os.path.isdir(runroot)
                    or _socket_gone(path, inode)):
                break
            continue
        last = time.monotonic()
        *lines, pending = (pending + os.read(events_r, 4096)).split(b"\n")
        for line in lines:
            if line == STOP:
                stop = True  # stopped, or our code is stale: the client runs in-process and starts a new one
            elif line == TOOK:
                _fork_spare(listener, pipes, stamp)  # the spare became a worker: have the next one ready
            elif line.startswith(KEEP) and line[len(KEEP):].decode() not in kept:
                kept.add(line[len(KEEP):].decode())
                _fork_keeper(line[len(KEEP):].decode(), alive_r)
    listener.shutdown(socket.SHUT_RDWR)  # wakes the waiting spare, which exits
    if not _socket_gone(path, inode):
        os.unlink(path)


def _fork_spare(listener: socket.socket, pipes: tuple[int, int, int], stamp: int) -> None:
    """Fork the next worker ahead of time. It waits for a client itself, so a command does
    not wait for a fork of the zygote (~3 ms); the zygote forks the next spare meanwhile."""
    events_w, alive_r, alive_w = pipes
    if os.fork():
        return
    try:
        os.close(alive_w)  # only the zygote holds it: its exit is our end of file
        waitables: list[socket.socket | int] = [listener, alive_r]
        ready, _, _ = select.select(waitables, [], [])
        if alive_r in ready:
            os._exit(0)
        conn, _ = listener.accept()  # fails once the zygote shut the listener down
        os.write(events_w, TOOK + b"\n")
        listener.close()
        os.close(alive_r)
        if _peer_uid(conn) != os.geteuid():
            os._exit(0)  # the socket is 0600 in a 0700 run root; this is the last line anyway
        conn.settimeout(10)  # a client that connects and says nothing must not keep us forever
        try:
            got = _recv_request(conn)
        except OSError:
            got = None
        if got is None:
            os._exit(0)
        conn.settimeout(None)
        req, fds = got
        if req.get("stop") or req.get("stamp") != stamp or req.get("python") != _PYTHON:
            os.write(events_w, STOP + b"\n")
            for fd in fds:
                os.close(fd)
            os._exit(0)  # closing the connection tells the client: it runs the command itself
        _become_worker(conn, req, fds, events_w)
    finally:
        os._exit(0)


def _socket_gone(path: str, inode: int) -> bool:
    """Another zygote took the name (or it was removed): this one is not reachable."""
    try:
        return os.stat(path).st_ino != inode
    except OSError:
        return True


def _peer_uid(conn: socket.socket) -> int:
    """The connecting process's uid, as the kernel saw it at connect (SO_PEERCRED)."""
    import struct
    _pid, uid, _gid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                                           struct.calcsize("3i")))
    return uid


def spawn(runroot: str) -> None:
    """Start a zygote for runroot in the background (from a CLI that found none)."""
    from pathlib import Path
    from sampan.state.paths import private_dir
    private_dir(Path(runroot))
    pid = os.fork()
    if pid:
        os.waitpid(pid, 0)
        return
    try:
        os.setsid()
        if os.fork():
            os._exit(0)
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        os.closerange(3, 65536)
        os.execv(sys.executable, [sys.executable, "-m", "sampan.cli.zygote", runroot])
    finally:
        os._exit(0)


if __name__ == "__main__":
    serve(sys.argv[1])
