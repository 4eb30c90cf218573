"""Attach before start, across processes.

A Docker client attaches to a created container and then starts it with another
request, maybe handled by another process (an API child, `sampan start`). So
that no output is lost, an attach to a container that is not running leaves a
waiter: a listening unix socket under the run root, named after the container
and the waiter's pid. Whoever starts the container, its monitor connects to
every waiter it finds before it lets the container run (monitor.py), and
serves those connections as any attach client (monitor._connect_waiters). A
dead waiter's socket refuses the connection and is removed.
"""

from __future__ import annotations

import os
import select
import socket

from sampan.engine import attach
from sampan.engine.monitor import waiter_prefix


class Waiter:
    """An attach client's place in the queue for the container's next start."""

    def __init__(self, ctx, cid: str) -> None:
        self.path = f"{waiter_prefix(ctx, cid)}{os.getpid()}"
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        self.sock.bind(self.path)
        os.chmod(self.path, 0o600)
        self.sock.listen(1)

    def fileno(self) -> int:
        return self.sock.fileno()

    def take(self, timeout: float = 0.0):
        """The monitor's connection once it made one, else None."""
        if not select.select([self.sock], [], [], timeout)[0]:
            return None
        conn, _ = self.sock.accept()
        conn.setblocking(True)
        return conn

    def close(self) -> None:
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        self.sock.close()


class StdioAttachment:
    """An attach client's link to a container's monitor: at once when it runs, else at its
    next start (a Waiter). `link()` gives the monitor's connection (attach.py frames)."""

    def __init__(self, ctx, rec) -> None:
        from sampan.engine.status import status_of
        self.ctx, self.cid, self.name = ctx, rec.id, rec.name
        self.tty = bool(rec.config.get("tty"))
        self.open_stdin = bool(rec.config.get("open_stdin"))
        self.waiter: Waiter | None = None
        self.gone = False  # removed while we waited, or its run ended as we came: no link
        self._ending = False
        self._conn = None
        if status_of(rec).running:
            try:
                self._conn = attach.connect(ctx.attach_socket(rec.id))
                return
            except OSError:
                # it is exiting (its monitor closed the socket): this attach came for the
                # run that ends, so once its exit is recorded there is nothing to link to,
                # rather than a wait for a start nobody asked for (docker attach's race)
                self._ending = True
        self.waiter = Waiter(ctx, rec.id)

    def fileno(self) -> int:
        """Readable when link() may have news (for a caller that polls other fds too)."""
        return self.waiter.fileno() if self.waiter else -1

    def link(self, timeout: float = 0.25):
        """The monitor's connection, or None if the container has not started within timeout."""
        if self._conn is None and self.waiter is not None:
            self._conn = self.waiter.take(timeout)
            if self._conn is None and self._started_without_us():
                self._conn = self.waiter.take(0) or _connect_quietly(self.ctx.attach_socket(self.cid))
            if self._conn is not None:
                self.waiter.close()
                self.waiter = None
        return self._conn

    def _started_without_us(self) -> bool:
        # A start that raced our registration; the monitor connects to waiters before it
        # records the container as running, so once it says running, it missed us.
        from sampan.engine.status import status_of
        rec = self.ctx.containers.get(self.cid)
        if rec is None:
            self.gone = True
            return False
        st = status_of(rec)
        if self._ending and st.exited:
            self.gone = True
        return st.running

    def close(self) -> None:
        if self.waiter is not None:
            self.waiter.close()
            self.waiter = None
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _connect_quietly(path: str):
    try:
        return attach.connect(path)
    except OSError:
        return None
