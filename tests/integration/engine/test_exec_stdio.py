"""What a container's process gets for stdio from `exec`, `run` and `start -a`, the CLI
sitting on a real terminal: without -t pipes (stdin only with -i) and a session of its
own, never the caller's terminal or files; with -t a pty made for it. Checked from
inside, over both runtimes, and with a static TIOCSTI checker that really tries to type
into every terminal it can reach."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from tests.support.cli import Sampan
from tests.support.ptys import output_until_exit, read_until, spawn_on_pty
from tests.support.static_tools import build

# Run by the container's sh; /proc/$$ is that sh (a $(...) child has its own /proc/self).
PROBE = ('for n in 0 1 2; do echo "fd$n=$(readlink /proc/$$/fd/$n)"; done; '
         'echo "tty=$(tty)"; set -- $(cat /proc/$$/stat); echo "sid=$6 pid=$$"; '
         'if (exec 3</dev/tty) 2>/dev/null; then echo ctty=yes; else echo ctty=no; fi; '
         'if [ -x /chk/tiocsti ]; then /chk/tiocsti; fi; echo probe-done')

RUNTIMES = ["native", "runc"]


@pytest.fixture(scope="module")
def chk(tmp_path_factory):
    """A directory for -v DIR:/chk:ro holding the TIOCSTI checker when gcc can build it."""
    d = tmp_path_factory.mktemp("chk")
    build("tiocsti", d)
    return d


def probe(s: Sampan, *args: str) -> dict[str, str]:
    """Run `sampan ARGS sh -c PROBE` on a real terminal; the probe's findings as a dict."""
    proc, master = spawn_on_pty(s.argv(*args, "sh", "-c", PROBE), s.env())
    try:
        rc, out = output_until_exit(proc, master)
    finally:
        os.close(master)
    assert rc == 0 and "probe-done" in out, out
    found = {}
    for line in out.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            found[key] = value
        elif ": " in line:
            key, _, value = line.partition(": ")
            found[key] = value
    return found


def assert_no_terminal_of_the_callers(f: dict[str, str], stdin: str, pid: str | None = None) -> None:
    assert f["fd0"] == stdin or f["fd0"].startswith(stdin), f
    assert f["fd1"].startswith("pipe:") and f["fd2"].startswith("pipe:"), f
    assert f["tty"] == "not a tty", f
    sid, _, own = f["sid"].partition(" pid=")
    assert sid == own, f"not a session of its own: {f}"
    if pid is not None:
        assert own == pid, f
    assert f["ctty"] == "no", f
    assert "TYPED" not in f.values(), f"the container typed into a terminal: {f}"
    for name in ("sti0", "sti1", "sti2", "sti-tty"):  # the TIOCSTI checker's tries, if it was built
        assert f.get(name, "refused").startswith("refused"), f


def _box(s: Sampan, chk) -> None:
    s.ok("run", "-d", "--name", "box", "--network", "none", "-v", f"{chk}:/chk:ro", "busybox", "sleep", "300")


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_exec_without_t_gets_pipes_and_a_session_of_its_own(sampan, chk, runtime):
    s = Sampan(sampan.root, sampan.runroot, runtime=runtime)
    _box(s, chk)
    assert_no_terminal_of_the_callers(probe(s, "exec", "box"), stdin="/dev/null")
    assert_no_terminal_of_the_callers(probe(s, "exec", "-i", "box"), stdin="pipe:")
    if (chk / "tiocsti").exists():
        f = probe(s, "exec", "box")
        assert f["sti0"].startswith("refused") and f["sti-tty"].startswith("refused"), f


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_exec_with_t_gets_a_pty_of_its_own(sampan, chk, runtime):
    s = Sampan(sampan.root, sampan.runroot, runtime=runtime)
    _box(s, chk)
    f = probe(s, "exec", "-it", "box")
    assert f["fd0"].startswith("/dev/pts/") and f["fd0"] == f["fd1"] == f["fd2"] == f["tty"], f
    sid, _, own = f["sid"].partition(" pid=")
    assert sid == own and f["ctty"] == "yes", f


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_run_and_start_a_without_t_give_the_init_pipes(sampan, chk, runtime):
    s = Sampan(sampan.root, sampan.runroot, runtime=runtime)
    vol = ["--network", "none", "-v", f"{chk}:/chk:ro"]
    assert_no_terminal_of_the_callers(probe(s, "run", "--rm", *vol, "busybox"), stdin="/dev/null", pid="1")
    assert_no_terminal_of_the_callers(probe(s, "run", "--rm", "-i", *vol, "busybox"), stdin="pipe:", pid="1")
    s.ok("create", "--name", "later", *vol, "busybox", "sh", "-c", PROBE)
    proc, master = spawn_on_pty(s.argv("start", "-a", "later"), s.env())
    try:
        rc, out = output_until_exit(proc, master)
    finally:
        os.close(master)
    assert rc == 0 and "probe-done" in out, out
    assert "ctty=no" in out and "tty=not a tty" in out and "sid=1 pid=1" in out and "TYPED" not in out, out


def test_exec_through_the_zygote_gets_pipes_not_the_clients_files(sampan, chk):
    z = Sampan(sampan.root, sampan.runroot, zygote=True)
    try:
        _box(z, chk)  # in-process; starts a zygote in the background
        deadline = time.monotonic() + 20
        while not (z.runroot / "zygote.sock").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert_no_terminal_of_the_callers(probe(z, "exec", "box"), stdin="/dev/null")
    finally:
        z("system", "zygote", "stop")


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_exec_stdio_exit_codes_eof_and_order(sampan, runtime):
    s = Sampan(sampan.root, sampan.runroot, runtime=runtime)
    s.ok("run", "-d", "--name", "box", "--network", "none", "busybox", "sleep", "300")
    r = s("exec", "box", "sh", "-c", "echo out; echo err >&2; exit 3")
    assert (r.rc, r.out, r.err) == (3, "out\n", "err\n")
    # stdin only with -i; its end of file reaches the process
    r = s("exec", "-i", "box", "sh", "-c", "cat; echo end", input=b"line1\nline2\n")
    assert (r.rc, r.out) == (0, "line1\nline2\nend\n")
    r = s("exec", "box", "sh", "-c", "cat; echo no-stdin", input=b"ignored\n")
    assert r.out == "no-stdin\n"
    # stdout and stderr on one file keep their order
    p = subprocess.run(s.argv("exec", "box", "sh", "-c", "for i in 1 2 3 4 5; do echo o$i; echo e$i >&2; done"),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                       env=s.env(), timeout=60)
    assert p.stdout.decode().split() == ["o1", "e1", "o2", "e2", "o3", "e3", "o4", "e4", "o5", "e5"]
    # a lot of output arrives whole, stdin flows while output does
    r = s("exec", "-i", "box", "sh", "-c", "head -c 3000000 /dev/zero | tr '\\0' x; cat | wc -c",
          input=b"y" * 500000)
    assert r.out == "x" * 3000000 + "500000\n"
    # -d: the process runs on; nothing of it reaches the caller
    r = s("exec", "-d", "box", "sh", "-c", "echo not-for-you; echo bg > /tmp/bg")
    assert (r.rc, r.out, r.err) == (0, "", "")
    deadline = time.monotonic() + 10
    while s("exec", "box", "cat", "/tmp/bg").out != "bg\n":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert s("exec", "box", "nope").rc == 127
    # a reader that goes away: the process gets EPIPE as with a direct pipe, exec returns
    p = subprocess.run(["sh", "-c", " ".join(f"'{a}'" for a in s.argv("exec", "box", "yes")) + " | head -1"],
                       capture_output=True, env=s.env(), timeout=60, stdin=subprocess.DEVNULL)
    assert p.stdout == b"y\n"


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_exec_passes_signals_on(sampan, runtime):
    """The process is out of the terminal's reach (its own session): sampan passes SIGINT and
    SIGTERM on, as `run` does."""
    s = Sampan(sampan.root, sampan.runroot, runtime=runtime)
    s.ok("run", "-d", "--name", "box", "--network", "none", "busybox", "sleep", "300")
    p = subprocess.Popen(s.argv("exec", "box", "sh", "-c",
                                "trap 'echo got-term; exit 9' TERM; echo ready; while :; do sleep 0.1; done"),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=s.env())
    try:
        assert p.stdout.readline() == b"ready\n"
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert (p.returncode, out) == (9, b"got-term\n"), err


def test_exec_it_still_talks_to_the_terminal(sampan):
    sampan.ok("run", "-d", "--name", "box", "--network", "none", "busybox", "sleep", "300")
    proc, master = spawn_on_pty(sampan.argv("exec", "-it", "box", "sh"), sampan.env())
    try:
        read_until(master, b"# ")
        os.write(master, b"echo $((6*7)); exit 4\r")
        read_until(master, b"42")
        assert proc.wait(timeout=15) == 4
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)


def test_exec_into_a_sys_ptrace_container_behaves_the_same(sampan, chk):
    """Such a container gets the joiner re-executed from a sealed interpreter copy
    (test_exec_attack.py shows that): stdio, exit codes, errors and -t are unchanged."""
    sampan.ok("run", "-d", "--name", "box", "--network", "none", "--cap-add", "SYS_PTRACE",
              "-v", f"{chk}:/chk:ro", "busybox", "sleep", "300")
    r = sampan("exec", "-i", "box", "sh", "-c", "cat; echo err >&2; exit 5", input=b"in\n")
    assert (r.rc, r.out, r.err) == (5, "in\n", "err\n")
    r = sampan("exec", "box", "nope")
    assert r.rc == 127 and r.err.count("\n") == 1 and "nope" in r.err
    r = sampan("exec", "-u", "33", "-w", "/tmp", "box", "sh", "-c", "id -u; pwd")
    assert r.out == "33\n/tmp\n"
    assert_no_terminal_of_the_callers(probe(sampan, "exec", "box"), stdin="/dev/null")
    f = probe(sampan, "exec", "-it", "box")
    assert f["tty"].startswith("/dev/pts/") and f["ctty"] == "yes", f
