"""Streams of a container's stdio to API clients: Docker's framing, and a hijacked
connection served by a child forked for it.

Without a tty Docker multiplexes stdout and stderr on one connection in frames of
8-byte headers ([stream, 0, 0, 0, big-endian size]); with a tty the bytes go raw.
For attach and exec the client's socket is handed to a child (children.py), which
pumps between it and the container (its monitor, or the exec'd process); the
child and the service talk over a control socketpair (pickled frames, as
children.py's): the child says when it is ready (or why it failed, before the
client heard anything), the service answers "go" once it sent the 101, and later
messages carry an exec's pid and exit code (acknowledged, so the code is known
before the client sees the stream end) or a resize for the child's pty.
"""

from __future__ import annotations

import asyncio
import os
import select
import socket
import struct
import traceback
from typing import Any, Callable

from sampan.server.errors import ApiError, status_of_error
from sampan.server.frames import FrameUnpacker, pack
from sampan.server.http import MULTIPLEXED_STREAM, RAW_STREAM, Request

STDIN, STDOUT, STDERR = 0, 1, 2
_FRAME = struct.Struct(">BxxxI")
STDIN_BUFFER = 1 << 20   # stdin held while a container has not started yet


def frame(stream: int, data: bytes) -> bytes:
    return _FRAME.pack(stream, len(data)) + data


def content_type(tty: bool) -> str:
    return RAW_STREAM if tty else MULTIPLEXED_STREAM


class ClientOut:
    """Writes a container's output to the client: framed without a tty, raw with one.
    `alive` turns false once the client is gone (its writes are then dropped)."""

    def __init__(self, sock: socket.socket, tty: bool, want: tuple[bool, bool] = (True, True)) -> None:
        self.sock, self.tty, self.want = sock, tty, want
        self.alive = True

    def write(self, stream: int, data: bytes) -> None:
        if not self.alive or not data or not self.want[stream - 1]:
            return
        try:
            self.sock.sendall(data if self.tty else frame(stream, data))
        except OSError:
            self.alive = False


# ---- the control channel, child side ----

class Ctl:
    """The child's end of the control socketpair."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._frames = FrameUnpacker()
        self.pending: list[tuple] = []  # messages that came while report() waited (a resize)

    def fileno(self) -> int:
        return self.sock.fileno()

    def send(self, msg: tuple) -> None:
        self.sock.sendall(pack(msg))

    def recv(self) -> tuple | None:
        """The next message from the service (blocking); None when it is gone."""
        while True:
            msg = self._frames.next()
            if msg is not None:
                return msg
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self._frames.feed(chunk)

    def recv_ready(self) -> list[tuple] | None:
        """Messages after a poll said readable; None when the service is gone."""
        try:
            chunk = self.sock.recv(65536)
        except OSError:
            chunk = b""
        if not chunk:
            return None
        self._frames.feed(chunk)
        out = []
        while (msg := self._frames.next()) is not None:
            out.append(msg)
        return out

    def ready(self, info: Any) -> bytes | None:
        """Tell the service the stream can begin; wait for its go. Returns what the client
        sent ahead of its stream (its first stdin), or None if the service gave up."""
        self.send(("ready", info))
        msg = self.recv()
        return msg[1] if msg and msg[0] == "go" else None

    def report(self, msg: Any) -> None:
        """A message the service must have taken in before we go on (an exec's exit code)."""
        try:
            self.send(("msg", msg))
            while (got := self.recv()) is not None and got[0] != "ack":
                self.pending.append(got)
        except OSError:
            pass  # the service is stopping: nobody is left to tell


# ---- the control channel, service side ----

class ChildLink:
    """The service's end: the child forked for one hijacked request."""

    def __init__(self, req: Request, sock: socket.socket, pid: int, ready: Any) -> None:
        self.req, self.sock, self.pid, self.ready = req, sock, pid, ready
        self._frames = FrameUnpacker()

    async def _recv(self) -> tuple | None:
        loop = asyncio.get_running_loop()
        while True:
            msg = self._frames.next()
            if msg is not None:
                return msg
            try:
                chunk = await loop.sock_recv(self.sock, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                return None
            self._frames.feed(chunk)

    async def send(self, msg: tuple) -> None:
        try:
            await asyncio.get_running_loop().sock_sendall(self.sock, pack(msg))
        except OSError:
            pass  # the child is gone

    async def go(self, ctype: str | None) -> None:
        """Take the client's socket over (ctype: hijack it; None: leave HTTP as it is) and let
        the child begin. If the client is gone by then, the child is told so by our hang-up."""
        try:
            leftover = await self.req.conn.hijack(self.req, ctype) if ctype else b""
        except BaseException:
            self.close()
            raise
        await self.send(("go", leftover))

    def close(self) -> None:
        if self.sock.fileno() >= 0:
            self.req.conn.children.untrack_fd(self.sock.fileno())
            self.sock.close()

    def serve(self, on_message: Callable[[Any], None] | None = None) -> None:
        """In the background until the child ends: pass its messages to on_message,
        acknowledging each."""
        task = asyncio.ensure_future(self._serve(on_message))
        _serving.add(task)  # the loop holds tasks weakly: a collected one would close the socket
        task.add_done_callback(_serving.discard)

    async def _serve(self, on_message) -> None:
        try:
            while (msg := await self._recv()) is not None:
                if msg[0] == "msg":
                    if on_message:
                        on_message(msg[1])
                    await self.send(("ack",))
        finally:
            self.close()


_serving: set = set()


async def fork_child(req: Request, fn: Callable[..., None], *args: Any) -> ChildLink:
    """fn(engine, ctl, client_fd, *args) in a child given the client's socket; returns once
    it said ready (fn calls ctl.ready(info)), or raises ApiError for its failure."""
    children = req.conn.children
    client_fd = req.conn.sock.fileno()
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    spec = children.spec

    def body() -> None:
        ours.close()
        ctl = Ctl(theirs)
        try:
            engine = spec.open()
            fn(engine, ctl, client_fd, *args)
        except BaseException as e:
            status, message = status_of_error(e)
            if message.startswith("internal error"):  # a bug: the service's log keeps it
                traceback.print_exc()
            try:
                ctl.send(("err", status, message))  # heard only if it failed before "ready"
            except OSError:
                pass

    try:
        pid = children.fork(body, keep=(theirs.fileno(), client_fd))
    finally:
        theirs.close()
    ours.setblocking(False)
    children.track_fd(ours.fileno())  # not for the children forked after this one
    link = ChildLink(req, ours, pid, None)
    try:
        msg = await link._recv()
    except BaseException:
        children.untrack_fd(ours.fileno())
        ours.close()
        raise
    if msg is None or msg[0] != "ready":
        children.untrack_fd(ours.fileno())
        ours.close()
        if msg is not None and msg[0] == "err":
            raise ApiError(msg[1], msg[2])
        raise ApiError(500, "the process serving this stream ended without an answer")
    link.ready = msg[1]
    return link


def client_socket(fd: int) -> socket.socket:
    """The hijacked client in the child, blocking from now on (the service has let go)."""
    sock = socket.socket(fileno=fd)
    sock.setblocking(True)
    return sock


def hang_up(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


# ---- pumps (in the child) ----

def pump_attach(att, client: socket.socket, first_stdin: bytes, want_in: bool, out: ClientOut) -> None:
    """Between the client and the container's monitor (engine.attach_wait's StdioAttachment) until the
    container exits or the client leaves. Stdin sent before the start is kept for it."""
    from sampan.engine import attach
    pending = bytearray(first_stdin if want_in else b"")
    stdin_eof = False
    reading_client = True
    conn = None
    # 1: until the container starts (at once if it runs)
    while conn is None:
        fds = [att.fileno()] if att.fileno() >= 0 else []
        if reading_client and len(pending) < STDIN_BUFFER:
            fds.append(client.fileno())
        ready = select.select(fds, [], [], 0.25)[0] if fds else []
        if client.fileno() in ready:
            data = _recv(client)
            if data:
                if want_in:
                    pending += data
            else:
                # the docker CLI shuts its write side at once when it sends no stdin: an
                # end, not a hang-up (that shows when we write)
                stdin_eof, reading_client = want_in, False
        conn = att.link(0)
        if conn is None and att.gone:
            return  # removed before it ever started (a failed start: the client removes it)
    # 2: while it runs
    try:
        if pending:
            conn.sendall(attach.encode(attach.STDIN, bytes(pending)))
        if stdin_eof:
            conn.sendall(attach.encode(attach.STDIN_EOF))
    except OSError:
        return
    reader = attach.FrameReader()
    poll = select.poll()
    poll.register(conn.fileno(), select.POLLIN)
    if reading_client:
        poll.register(client.fileno(), select.POLLIN)
    while True:
        for fd, _ in poll.poll():
            if fd == conn.fileno():
                data = _recv(conn)
                if not data:
                    return
                for kind, payload in reader.feed(data):
                    if kind in (attach.STDOUT, attach.STDERR):
                        out.write(STDOUT if kind == attach.STDOUT else STDERR, payload)
                    elif kind == attach.EXIT:
                        return
                if not out.alive:
                    return  # the client is gone; the container goes on without it
            else:
                data = _recv(client)
                try:
                    if data and want_in:
                        conn.sendall(attach.encode(attach.STDIN, data))
                    elif not data:
                        poll.unregister(client.fileno())
                        if want_in:
                            conn.sendall(attach.encode(attach.STDIN_EOF))
                except OSError:
                    return


def _recv(sock: socket.socket) -> bytes:
    try:
        return sock.recv(65536)
    except OSError:
        return b""


def pump_exec(handle, client: socket.socket | None, first_stdin: bytes, ctl: Ctl, out: ClientOut | None) -> int:
    """Between the client and an exec'd process (an ExecHandle: a pty master, or pipes)
    until it exits; its exit code. Without a client (detached) the output is dropped.
    The service's resize messages reach the pty here."""
    import errno
    master = handle.pty_master
    pipes = handle.pipes
    if master is not None:
        outputs = {master: STDOUT}
        stdin_w = master
    elif pipes is not None:
        outputs = dict(pipes.outputs)
        stdin_w = pipes.stdin_w
    else:
        outputs, stdin_w = {}, None
    if stdin_w is not None and first_stdin:
        _write_all(stdin_w, first_stdin)
    pidfd = os.pidfd_open(handle.pid)
    poll = select.poll()
    for fd in outputs:
        poll.register(fd, select.POLLIN)
    poll.register(pidfd, select.POLLIN)
    poll.register(ctl.fileno(), select.POLLIN)
    if client is not None:
        poll.register(client.fileno(), select.POLLIN)
    status = None

    def on_ctl(msgs: list[tuple]) -> None:
        for msg in msgs:
            if msg[0] == "resize" and master is not None:
                set_tty_size(master, msg[1], msg[2])
            elif msg[0] == "gone":
                poll.unregister(ctl.fileno())

    on_ctl(ctl.pending)
    ctl.pending = []

    def read_out(fd: int) -> bool:
        try:
            data: bytes | None = os.read(fd, 65536)
        except OSError as e:
            if e.errno not in (errno.EIO, errno.EAGAIN):
                raise
            data = b"" if e.errno == errno.EIO else None
        if data is None:
            return False
        if not data:
            poll.unregister(fd)
            del outputs[fd]
            return False
        if out is not None:
            out.write(outputs[fd], data)
        return True

    while status is None:
        for fd, _ in poll.poll():
            if fd == pidfd:
                _, st = os.waitpid(handle.pid, 0)
                status = os.waitstatus_to_exitcode(st)
                status = 128 - status if status < 0 else status
            elif fd in outputs:
                read_out(fd)
            elif fd == ctl.fileno():
                on_ctl(ctl.recv_ready() or [("gone",)])
            elif client is not None and fd == client.fileno():
                data = _recv(client)
                if data and stdin_w is not None:
                    try:
                        _write_all(stdin_w, data)
                    except OSError:
                        pass
                elif not data:
                    poll.unregister(fd)
                    if stdin_w is not None and stdin_w != master:
                        os.close(stdin_w)
                        pipes.stdin_w = stdin_w = None
    # what it wrote just before it exited; a background process holding the pipes does not hold us
    for fd in list(outputs):
        os.set_blocking(fd, False)
        while fd in outputs and read_out(fd):
            pass
    os.close(pidfd)
    return status


def set_tty_size(master: int, rows: int, cols: int) -> None:
    import fcntl
    import termios
    fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
