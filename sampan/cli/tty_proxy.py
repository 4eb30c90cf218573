"""Copy between the user's terminal and a local pty master (for `exec -it`)."""

from __future__ import annotations

import errno
import fcntl
import os
import selectors
import signal
import sys
import termios


def _copy_size(src: int, master: int) -> None:
    try:
        ws = fcntl.ioctl(src, termios.TIOCGWINSZ, b"\0" * 8)
        fcntl.ioctl(master, termios.TIOCSWINSZ, ws)
    except OSError:
        pass


def proxy(master: int, interactive: bool, until_exit) -> int:
    """Pump until the pty closes; until_exit() then returns the exit code."""
    in_fd = sys.stdin.fileno()
    saved = None
    if interactive and os.isatty(in_fd):
        import tty
        saved = termios.tcgetattr(in_fd)
        tty.setraw(in_fd)
    _copy_size(in_fd if os.isatty(in_fd) else 1, master)
    old = signal.signal(signal.SIGWINCH, lambda *_: _copy_size(in_fd, master))
    sel = selectors.DefaultSelector()
    sel.register(master, selectors.EVENT_READ, "pty")
    if interactive:
        sel.register(in_fd, selectors.EVENT_READ, "in")
    out = sys.stdout.buffer
    try:
        done = False
        while not done:
            for key, _ in sel.select():
                if key.data == "pty":
                    try:
                        data = os.read(master, 65536)
                    except OSError as e:
                        if e.errno != errno.EIO:
                            raise
                        data = b""
                    if not data:
                        done = True
                        break
                    out.write(data)
                    out.flush()
                else:
                    data = os.read(in_fd, 65536)
                    if data:
                        os.write(master, data)
                    else:
                        sel.unregister(in_fd)
    finally:
        if saved is not None:
            termios.tcsetattr(in_fd, termios.TCSADRAIN, saved)
        signal.signal(signal.SIGWINCH, old)
        os.close(master)
    return until_exit()
