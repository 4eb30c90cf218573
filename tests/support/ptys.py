"""Run a command with a new pty as its controlling terminal, as a user at a terminal would."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import termios
import time


def set_size(fd: int, rows: int, cols: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def read_until(fd: int, needle: bytes, timeout: float = 15.0) -> bytes:
    buf = b""
    deadline = time.monotonic() + timeout
    while needle not in buf:
        if time.monotonic() > deadline:
            raise AssertionError(f"did not see {needle!r} in {buf[-500:]!r}")
        if select.select([fd], [], [], 0.2)[0]:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            buf += chunk
    return buf


def spawn_on_pty(argv: list[str], env: dict, rows: int = 24, cols: int = 80):
    """Start argv in a session of its own whose controlling terminal is a new pty of that
    size (stdin, stdout and stderr too); returns (Popen, master fd)."""
    master, slave = pty.openpty()
    set_size(slave, rows, cols)
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
                            env=env, preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
    os.close(slave)
    return proc, master


def output_until_exit(proc: subprocess.Popen, master: int, timeout: float = 30.0) -> tuple[int, str]:
    """Everything the command wrote to the terminal, and its exit code."""
    buf = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if select.select([master], [], [], 0.1)[0]:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: no process holds the slave any more
                break
            if not chunk:
                break
            buf += chunk
        elif proc.poll() is not None:
            # the command is gone; whatever it wrote is readable now or never
            if not select.select([master], [], [], 0.2)[0]:
                break
    else:
        proc.kill()
    return proc.wait(timeout=10), buf.decode(errors="replace").replace("\r\n", "\n")
