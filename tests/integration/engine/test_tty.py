"""`run -it` through a real pty: raw mode, window size and its changes, Ctrl-C, exit code."""

import os
import signal
import time

from tests.support.ptys import read_until as _read_until
from tests.support.ptys import set_size as _set_size
from tests.support.ptys import spawn_on_pty


def _spawn_on_pty(sampan, rows: int, cols: int, *args: str):
    """Start `sampan ARGS` with a new pty of that size as its controlling terminal."""
    return spawn_on_pty(sampan.argv(*args), sampan.env(), rows, cols)


def test_run_it_is_a_real_terminal(sampan):
    proc, master = _spawn_on_pty(sampan, 30, 100, "run", "-it", "--rm", "busybox", "sh")
    try:
        _read_until(master, b"# ")
        os.write(master, b"tty; stty size\r")
        out = _read_until(master, b"30 100")
        assert b"/dev/pts/0" in out
        _set_size(master, 40, 120)
        proc.send_signal(signal.SIGWINCH)
        time.sleep(0.3)
        os.write(master, b"stty size\r")
        _read_until(master, b"40 120")
        # Ctrl-C reaches the container's foreground job through its tty, not sampan.
        os.write(master, b"sleep 30\r")
        time.sleep(0.5)
        os.write(master, b"\x03")
        os.write(master, b"echo after-interrupt\r")
        _read_until(master, b"after-interrupt\r\n", timeout=5)
        assert proc.poll() is None
        os.write(master, b"exit 7\r")
        assert proc.wait(timeout=15) == 7
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)


def test_exec_it(sampan):
    sampan.ok("run", "-d", "--name", "box", "busybox", "sleep", "100")
    proc, master = _spawn_on_pty(sampan, 24, 80, "exec", "-it", "box", "sh")
    try:
        _read_until(master, b"# ")
        os.write(master, b"tty; stty size; exit 3\r")
        out = _read_until(master, b"24 80")
        assert b"/dev/pts/" in out
        assert proc.wait(timeout=15) == 3
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
