"""`run -it` and `attach` at a real terminal: Ctrl-P Ctrl-Q leaves the container
running, `attach` comes back to it, --detach-keys changes the sequence, and the
terminal's size is the container's from its first instruction."""

import os

from tests.support.ptys import output_until_exit, read_until, spawn_on_pty


def _on_pty(sampan, *args: str, rows: int = 24, cols: int = 80):
    return spawn_on_pty(sampan.argv(*args), sampan.env(), rows, cols)


def _wait_raw(master: int) -> None:
    """Until the attaching CLI has put its terminal in raw mode (it is then attached)."""
    import termios
    import time
    deadline = time.monotonic() + 15
    while termios.tcgetattr(master)[3] & termios.ECHO:
        assert time.monotonic() < deadline, "the CLI never attached"
        time.sleep(0.02)


def _finish(proc, master) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    os.close(master)


def test_detach_and_attach_again(sampan):
    proc, master = _on_pty(sampan, "run", "-it", "--name", "shell", "busybox", "sh")
    try:
        read_until(master, b"# ")
        os.write(master, b"echo one-$((40+2))\r")
        read_until(master, b"one-42")
        os.write(master, b"\x10\x11")
        assert proc.wait(timeout=15) == 0  # as Docker: detaching is not a failure
    finally:
        _finish(proc, master)
    assert sampan.ok("inspect", "-f", "{{.State.Status}}", "shell").strip() == "running"

    proc, master = _on_pty(sampan, "attach", "shell")
    try:
        _wait_raw(master)
        os.write(master, b"echo two-$((40+3))\r")
        read_until(master, b"two-43")
        os.write(master, b"\x10\x11")
        code, out = output_until_exit(proc, master)
        # Docker's line (after whatever the shell had printed on the line: its prompt)
        assert code == 1 and out.rstrip().endswith("read escape sequence"), (code, out)
    finally:
        _finish(proc, master)
    assert sampan.ok("inspect", "-f", "{{.State.Status}}", "shell").strip() == "running"

    proc, master = _on_pty(sampan, "attach", "shell")
    try:
        _wait_raw(master)
        os.write(master, b"exit 5\r")
        assert proc.wait(timeout=15) == 5  # the container's exit code, as Docker's attach
    finally:
        _finish(proc, master)
    assert sampan.ok("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "shell").strip() == "exited 5"


def test_custom_detach_keys_and_a_lone_ctrl_p(sampan):
    proc, master = _on_pty(sampan, "run", "-it", "--rm", "--detach-keys", "ctrl-a,x", "--name", "kk",
                           "busybox", "sh")
    try:
        read_until(master, b"# ")
        os.write(master, b"\x10\x11")  # not the sequence now: it reaches the shell
        os.write(master, b"echo still-$((1+1))\r")
        read_until(master, b"still-2")
        assert proc.poll() is None
        os.write(master, b"\x01x")
        code, out = output_until_exit(proc, master)
        assert code == 0, out
    finally:
        _finish(proc, master)
    assert sampan.ok("inspect", "-f", "{{.State.Status}}", "kk").strip() == "running"
    sampan.ok("rm", "-f", "kk")


def test_attach_refuses_what_is_not_running(sampan):
    sampan.ok("create", "--name", "idle", "busybox", "true")
    r = sampan("attach", "idle")
    assert r.rc == 1 and "cannot attach to a stopped container, start it first" in r.err
    sampan.ok("run", "-d", "--name", "frozen", "busybox", "sleep", "60")
    sampan.ok("pause", "frozen")
    r = sampan("attach", "frozen")
    assert r.rc == 1 and "cannot attach to a paused container, unpause it first" in r.err
    sampan.ok("rm", "-f", "frozen")
    r = sampan("attach", "no-such-box")
    assert r.rc != 0 and "no-such-box" in r.err
    r = sampan("run", "--detach-keys", "ctrl-1", "busybox", "true")
    assert r.rc == 125 and "invalid detach keys (ctrl-1)" in r.err


def test_window_size_is_set_before_the_program_starts(sampan):
    proc, master = _on_pty(sampan, "run", "-it", "--rm", "busybox", "stty", "size", rows=33, cols=111)
    try:
        code, out = output_until_exit(proc, master)
    finally:
        _finish(proc, master)
    assert (code, out.strip()) == (0, "33 111")
