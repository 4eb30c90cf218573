"""The stdio of an exec'd process without -t: pipes that the engine pumps.

The container never gets a descriptor of the caller's: its terminal would let a
container process type into the host's shell (TIOCSTI), and any file of the
caller's can be reopened through /proc/self/fd/N. As under Docker, the process
gets a pipe for stdout and one for stderr (one for both when the caller's
stdout and stderr are the same file, so their order survives), and a stdin pipe
only with -i; the caller's side copies between them and its own stdio.
"""

from __future__ import annotations

import errno
import os
import select

_CHUNK = 65536


class ExecPipes:
    """The pipes for one exec'd process: the child's ends go to the runtime (Stdio), the
    engine keeps the others."""

    def __init__(self, interactive: bool, merge_output: bool) -> None:
        self.stdin_w = self._in_r = None
        if interactive:
            self._in_r, self.stdin_w = os.pipe2(os.O_CLOEXEC)
        out_r, out_w = os.pipe2(os.O_CLOEXEC)
        self.outputs = {out_r: 1}  # our read end -> 1 (stdout) or 2 (stderr) of the caller's
        self._child = [out_w]
        err_w = out_w
        if not merge_output:
            err_r, err_w = os.pipe2(os.O_CLOEXEC)
            self.outputs[err_r] = 2
            self._child.append(err_w)
        if self._in_r is not None:
            self._child.append(self._in_r)
        self.child_stdio = (self._in_r, out_w, err_w)

    def close_child_ends(self) -> None:
        """Once the runtime started the process (or failed to): it holds its own copies."""
        for fd in self._child:
            os.close(fd)
        self._child = []

    def close(self) -> None:
        self.close_child_ends()
        for fd in list(self.outputs) + ([self.stdin_w] if self.stdin_w is not None else []):
            try:
                os.close(fd)
            except OSError:
                pass
        self.outputs, self.stdin_w = {}, None


def pump(pid: int, pipes: ExecPipes, stdin_fd: int, stdout_fd: int, stderr_fd: int) -> int:
    """Copy between the caller's stdio and the process's pipes until the process exits;
    returns its wait status. The caller's stdin EOF closes the process's stdin. Output
    still in the pipes when it exits is copied; a background process that keeps them
    open does not hold us (Docker's exec returns when the process exits too)."""
    return _Pump(pid, pipes, stdin_fd, {1: stdout_fd, 2: stderr_fd}).run()


class _Pump:
    def __init__(self, pid: int, pipes: ExecPipes, stdin_fd: int, dests: dict[int, int]) -> None:
        self.pid, self.pipes, self.stdin_fd, self.dests = pid, pipes, stdin_fd, dests
        self.poll = select.poll()
        self.pending = b""   # read from the caller's stdin, not yet taken by the process
        self.stdin_eof = False
        self.status: int | None = None

    def run(self) -> int:
        try:
            pidfd = os.pidfd_open(self.pid)
        except OSError:
            pidfd = None  # kernel older than 5.3: look every 100 ms
        try:
            for fd in self.pipes.outputs:
                os.set_blocking(fd, False)
                self.poll.register(fd, select.POLLIN)
            if self.pipes.stdin_w is not None:
                os.set_blocking(self.pipes.stdin_w, False)
                self.poll.register(self.stdin_fd, select.POLLIN)
            if pidfd is not None:
                self.poll.register(pidfd, select.POLLIN)
            while self.status is None:
                events = self.poll.poll(None if pidfd is not None else 100)
                for fd, ev in events:
                    if fd == pidfd:
                        self._reap()
                    elif fd in self.pipes.outputs:
                        self._copy_out(fd)
                    elif fd == self.stdin_fd:
                        self._read_stdin()
                    elif fd == self.pipes.stdin_w:
                        self._feed_stdin(ev)
                if pidfd is None and self.status is None:
                    self._reap(block=False)
            for fd in list(self.pipes.outputs):
                while fd in self.pipes.outputs and self._copy_out(fd):
                    pass
            return self.status
        finally:
            if pidfd is not None:
                os.close(pidfd)
            self.pipes.close()

    def _reap(self, block: bool = True) -> None:
        try:
            done, status = os.waitpid(self.pid, 0 if block else os.WNOHANG)
        except ChildProcessError:
            done, status = self.pid, 0
        if done:
            self.status = status

    def _drop(self, fd: int) -> None:
        try:
            self.poll.unregister(fd)
        except KeyError:
            pass
        del self.pipes.outputs[fd]
        os.close(fd)

    def _copy_out(self, fd: int) -> bool:
        """One read from an output pipe; False once there is nothing more to read now."""
        try:
            data = os.read(fd, _CHUNK)
        except BlockingIOError:
            return False
        if not data:
            self._drop(fd)
            return False
        try:
            _write_all(self.dests[self.pipes.outputs[fd]], data)
        except OSError:
            self._drop(fd)  # the caller's end is gone: the process gets EPIPE, as with a direct pipe
            return False
        return True

    def _read_stdin(self) -> None:
        try:
            data = os.read(self.stdin_fd, _CHUNK)
        except OSError:
            data = b""
        self.poll.unregister(self.stdin_fd)
        if data:
            self.pending = data
        else:
            self.stdin_eof = True
        self._feed_stdin(0)

    def _feed_stdin(self, ev: int) -> None:
        w = self.pipes.stdin_w
        if w is None:
            return
        try:
            while self.pending:
                self.pending = self.pending[os.write(w, self.pending):]
        except BlockingIOError:
            self.poll.register(w, select.POLLOUT)  # the rest once the process reads
            return
        except OSError as e:
            if e.errno != errno.EPIPE:
                raise
            self.stdin_eof, self.pending = True, b""  # the process closed its stdin
        try:
            self.poll.unregister(w)
        except KeyError:
            pass
        if self.stdin_eof:
            os.close(w)
            self.pipes.stdin_w = None
        else:
            self.poll.register(self.stdin_fd, select.POLLIN)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view):]
        except BlockingIOError:
            select.select([], [fd], [])  # a caller's non-blocking stdout
