"""The CLI side of attach: the user's terminal <-> the container's monitor.

With -t the local terminal goes raw, so Ctrl-C travels as a byte to the
container's tty; its size follows SIGWINCH. Without -t, SIGINT/SIGTERM/...
are forwarded to the container as Docker's sig-proxy does.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import struct
import sys

from sampan.engine import attach

class Detached(Exception):
    """The user typed the detach sequence: the container runs on without us."""


_PROXIED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2)


def _winsize(fd: int) -> tuple[int, int] | None:
    import fcntl
    import termios
    try:
        rows, cols, _, _ = struct.unpack("HHHH", fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8))
        return rows, cols
    except OSError:
        return None


def attach_session(conn, *, tty: bool, stdin: bool, on_lost=None, detach_keys: bytes | None = None,
                   sig_proxy: bool = True, streams: set[str] | frozenset[str] = frozenset(("stdout", "stderr"))
                   ) -> int:
    """Pump data until the monitor says the container exited; return its exit code.
    If the monitor goes without a word, on_lost() gives the container's exit code (it exited
    as recorded: this client came too late to be told) or the line to show (exit 125).
    With a terminal on stdin, typing detach_keys (Ctrl-P Ctrl-Q by default) raises Detached,
    as Docker detaches only there (piped input may hold any byte).
    ``streams``: which of the container's stdout and stderr to show (run -a); the others still
    go to its log."""
    def send(frame: bytes) -> None:
        # The monitor closes its side as soon as the container has exited; what we still
        # had to say (a resize, typed input) no longer matters, and its exit frame is
        # waiting to be read: not an error (it once killed the CLI by SIGPIPE).
        try:
            conn.sendall(frame)
        except (BrokenPipeError, ConnectionResetError):
            pass

    sel = selectors.DefaultSelector()
    sel.register(conn, selectors.EVENT_READ, "conn")
    wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    old_wakeup = signal.set_wakeup_fd(wake_w)
    sel.register(wake_r, selectors.EVENT_READ, "signal")
    saved_tty = None
    old_handlers = {}
    in_fd = sys.stdin.fileno() if stdin else None
    escape = None
    if tty and in_fd is not None and os.isatty(in_fd):
        import termios
        import tty as ttymod

        from sampan.cli.detach_keys import DEFAULT, EscapeProxy
        escape = EscapeProxy(detach_keys or DEFAULT)
        saved_tty = termios.tcgetattr(in_fd)
        ttymod.setraw(in_fd, termios.TCSANOW)  # not TCSAFLUSH: keep what was typed ahead
    if tty:
        old_handlers[signal.SIGWINCH] = signal.signal(signal.SIGWINCH, lambda *_: None)
        size = _winsize(in_fd if in_fd is not None else 1)
        if size:
            send(attach.encode(attach.RESIZE, attach.resize_payload(*size)))
    elif sig_proxy:
        for s in _PROXIED:
            old_handlers[s] = signal.signal(s, lambda *_: None)
    if in_fd is not None:
        sel.register(in_fd, selectors.EVENT_READ, "stdin")
    reader = attach.FrameReader()
    out = sys.stdout.buffer
    err = sys.stderr.buffer
    code = 125
    try:
        while True:
            for key, _ in sel.select():
                if key.data == "conn":
                    try:
                        data = conn.recv(65536)
                    except ConnectionResetError:  # a monitor that ended with us still queued
                        data = b""
                    if not data:
                        why = on_lost() if on_lost else "lost the connection to the container's monitor"
                        if isinstance(why, int):
                            return why
                        sys.stderr.write(f"sampan: {why}\n")
                        return 125
                    for kind, payload in reader.feed(data):
                        if kind == attach.STDOUT and "stdout" in streams:
                            out.write(payload)
                            out.flush()
                        elif kind == attach.STDERR and "stderr" in streams:
                            err.write(payload)
                            err.flush()
                        elif kind == attach.EXIT:
                            return int(json.loads(payload).get("exit_code", 125))
                elif key.data == "stdin":
                    assert in_fd is not None  # registered only when there is one
                    data = os.read(in_fd, 65536)
                    if data and escape is not None:
                        data, detach = escape.feed(data)
                        if data:
                            send(attach.encode(attach.STDIN, data))
                        if detach:
                            raise Detached()
                    elif data:
                        send(attach.encode(attach.STDIN, data))
                    else:
                        sel.unregister(in_fd)
                        send(attach.encode(attach.STDIN_EOF))
                elif key.data == "signal":
                    for b in os.read(wake_r, 64):
                        if b == signal.SIGWINCH:
                            size = _winsize(in_fd if in_fd is not None else 1)
                            if size:
                                send(attach.encode(attach.RESIZE, attach.resize_payload(*size)))
                        elif b in _PROXIED:
                            send(attach.encode(attach.SIGNAL, str(b).encode()))
    finally:
        if saved_tty is not None and in_fd is not None:
            import termios
            termios.tcsetattr(in_fd, termios.TCSADRAIN, saved_tty)
        for s, h in old_handlers.items():
            signal.signal(s, h)
        signal.set_wakeup_fd(old_wakeup)
        os.close(wake_r)
        os.close(wake_w)
        conn.close()
    return code
