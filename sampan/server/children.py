"""Each engine call of the API server runs in a child forked for it.

The server is one asyncio thread that parses HTTP and never opens the database
itself. A request's engine work (create, start, pull, wait, logs -f, an exec's
pump, ...) runs in a process forked from it, exactly as if a `sampan` CLI had
been started for it: its own SQLite connection, single-threaded (so the engine
may fork the container's monitor from it safely), the same locks as the CLI's.
That is how the API and the CLI are one engine over one state, and how a slow
call (a pull, a `wait`, a `logs -f`) never blocks another request: the parent
only awaits a socket.

The child reports over a socketpair in frames (frames.py: 4-byte length + pickle):
("item", value) for each item of a stream, then ("ok", value) or ("err",
status, message). The child's function gets an Engine (and, for streams, an
`emit(item)` callable); what it returns must pickle (reports, dicts, ints).
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import traceback
from typing import Any, AsyncIterator, Callable

from sampan.errors import SampanError
from sampan.server.errors import ApiError, status_of_error
from sampan.server.frames import FrameUnpacker, pack


class EngineSpec:
    """What each child needs to open the same engine as the service: its state roots."""

    def __init__(self, root: str | None, runroot: str | None, runtime: str | None) -> None:
        self.root, self.runroot, self.runtime = root, runroot, runtime

    def open(self):
        from sampan.engine import Engine
        return Engine(self.root, self.runroot, self.runtime)


class Children:
    """Forks children for engine calls and reaps them (SIGCHLD in the event loop)."""

    def __init__(self, spec: EngineSpec, keep_fds: Callable[[], list[int]] = lambda: []) -> None:
        self.spec = spec
        self.live: set[int] = set()
        self._close_in_child: set[int] = set()  # the service's own fds: listener, clients

    def track_fd(self, fd: int) -> None:
        self._close_in_child.add(fd)

    def untrack_fd(self, fd: int) -> None:
        self._close_in_child.discard(fd)

    def install(self, loop: asyncio.AbstractEventLoop) -> None:
        loop.add_signal_handler(signal.SIGCHLD, self._reap)

    def _reap(self) -> None:
        while self.live:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                self.live.clear()
                return
            if pid == 0:
                return
            self.live.discard(pid)

    def fork(self, body: Callable[[], None], keep: tuple[int, ...] = ()) -> int:
        """Fork a child that runs body() and exits; the parent gets its pid."""
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                signal.set_wakeup_fd(-1)
                for s in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGPIPE):
                    signal.signal(s, signal.SIG_DFL)
                signal.signal(signal.SIGPIPE, signal.SIG_IGN)  # a gone client is an EPIPE, not a death
                for fd in self._close_in_child - set(keep):
                    try:
                        os.close(fd)
                    except OSError:
                        pass
                body()
            except BaseException:
                traceback.print_exc()
                code = 1
            finally:
                os._exit(code)
        self.live.add(pid)
        return pid

    async def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """fn(engine, *args) in a child; its return value, or ApiError for its failure."""
        result = None
        async for kind, value in self._run(fn, args, stream=False):
            if kind == "ok":
                result = value
        return result

    async def stream(self, fn: Callable[..., Any], *args: Any) -> AsyncIterator[Any]:
        """fn(engine, emit, *args) in a child; yields what it emits. Closing the iterator
        early (the client went away) kills the child."""
        async for kind, value in self._run(fn, args, stream=True):
            if kind == "item":
                yield value

    async def _run(self, fn, args, stream: bool):
        loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        spec = self.spec

        def body() -> None:
            ours.close()
            _serve_call(theirs, spec, fn, args, stream)

        try:
            pid = self.fork(body, keep=(theirs.fileno(),))
        finally:
            theirs.close()
        ours.setblocking(False)
        done = False
        try:
            frames = FrameUnpacker()
            while True:
                chunk = await loop.sock_recv(ours, 65536)
                if not chunk:
                    raise ApiError(500, "the engine process for this request ended without an answer")
                frames.feed(chunk)
                while (frame := frames.next()) is not None:
                    if frame[0] == "err":
                        done = True
                        raise ApiError(frame[1], frame[2])
                    yield frame[0], frame[1]
                    if frame[0] == "ok":
                        done = True
                        return
        finally:
            ours.close()
            if not done:
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass


def _serve_call(sock: socket.socket, spec: EngineSpec, fn, args, stream: bool) -> None:
    """In the child: run the call and send its frames."""
    def send(frame: tuple) -> None:
        sock.sendall(pack(frame))

    try:
        engine = spec.open()
        if stream:
            value = fn(engine, lambda item: send(("item", item)), *args)
        else:
            value = fn(engine, *args)
        send(("ok", value))
    except ApiError as e:
        send(("err", e.status, e.message))
    except BrokenPipeError:
        pass  # the parent stopped listening: nobody is left to tell
    except BaseException as e:
        status, message = status_of_error(e)
        if status == 500 and not isinstance(e, SampanError):
            traceback.print_exc()  # a bug: the service's log keeps the traceback
        try:
            send(("err", status, message))
        except OSError:
            pass


class EmitWriter:
    """A binary file object for a streaming child: what an engine verb writes (save, export,
    a path's tar) goes to the parent as items of `chunk` bytes."""

    def __init__(self, emit, chunk: int = 256 << 10) -> None:
        self.emit, self.chunk, self.buf = emit, chunk, bytearray()

    def write(self, data) -> int:
        self.buf += data
        while len(self.buf) >= self.chunk:
            self.emit(bytes(self.buf[:self.chunk]))
            del self.buf[:self.chunk]
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        if self.buf:
            self.emit(bytes(self.buf))
            self.buf.clear()

