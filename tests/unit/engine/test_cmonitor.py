"""The C idle monitor (engine/cmonitor.c) against logs.LogWriter: the same reads give the same
log files, byte for byte but for the time field's value, for hostile output; the exit code
goes to the finish step; an attach client makes it hand over to the Python monitor.

The C program runs here outside any container: a launcher forks the "container" (a process
that waits for SIGTERM) and execs the monitor, which so becomes its parent, as in a real
monitor. Its outputs are regular files: each read returns 64 KiB until the end, as the
Python side below reads them, so both see the same chunks. Where the binary comes from:
test_cmonitor_cache.py.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time

import pytest

from sampan.engine import cmonitor_build
from sampan.engine.logs import LogWriter

pytestmark = pytest.mark.skipif(cmonitor_build.compiler() is None, reason="no C compiler")

LAUNCHER = r"""
import os, signal, socket, sys
exe, log, max_size, max_files, sock, fin_out, fb_out = sys.argv[1:8]
paths = sys.argv[8:]
pid = os.fork()
if pid == 0:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    while True:
        signal.pause()
fds = []
for p in paths:
    fd = os.open(p, os.O_RDONLY)
    os.set_inheritable(fd, True)
    fds.append(fd)
lst = socket.socket(socket.AF_UNIX)
lst.bind(sock)
lst.listen(8)
os.set_inheritable(lst.fileno(), True)
spec = ",".join(f"{fd}:{s}" for fd, s in zip(fds, ("stdout", "stderr")))
print(pid, " ".join(map(str, fds)), flush=True)
py = sys.executable
fallback = [py, "-c", "import sys; open(sys.argv[1], 'w').write('fallback')", fb_out]
finish = [py, "-c", "import sys; open(sys.argv[1], 'w').write(sys.argv[2])", fin_out, "PLACEHOLDER"]
os.execv(exe, [exe, str(pid), log, max_size, max_files, str(lst.fileno()), spec, "-1", "--", *fallback,
               "--", *finish])
"""


@pytest.fixture(scope="module")
def exe(tmp_path_factory):
    path = cmonitor_build.binary(str(tmp_path_factory.mktemp("root")))
    assert path and os.access(path, os.X_OK)
    return path


def _wait(cond, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _pos(pid: int, fd: int) -> int:
    with open(f"/proc/{pid}/fdinfo/{fd}") as f:
        return int(f.readline().split()[1])


def run_c(exe, tmp_path, inputs: list[bytes], max_size=1 << 40, max_files=3):
    """Feed inputs (stdout[, stderr]) through the C monitor; returns (exit code seen by finish,
    log directory)."""
    d = tmp_path / "c"
    d.mkdir()
    paths = []
    for i, data in enumerate(inputs):
        p = tmp_path / f"in{i}"
        p.write_bytes(data)
        paths.append(str(p))
    log = d / "x-json.log"
    fin, fb = tmp_path / "finish", tmp_path / "fallback"
    proc = subprocess.Popen([sys.executable, "-c", LAUNCHER, exe, str(log), str(max_size), str(max_files),
                             str(tmp_path / "l.sock"), str(fin), str(fb), *paths], stdout=subprocess.PIPE)
    try:
        first = proc.stdout.readline().split()
        child, fds = int(first[0]), [int(x) for x in first[1:]]
        # every input read to its end (the fds stay open until the exit), then the "container" exits
        _wait(lambda: all(_pos(proc.pid, fd) == len(data) for fd, data in zip(fds, inputs)))
        os.kill(child, signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert not fb.exists()
    return int(fin.read_text()), d


def run_python(tmp_path, inputs: list[bytes], max_size=1 << 40, max_files=3):
    """The same chunks through LogWriter, in the C loop's order: one read per open stream a round."""
    d = tmp_path / "py"
    d.mkdir()
    w = LogWriter(str(d / "x-json.log"), max_size, max_files)
    pos = [0] * len(inputs)
    live = list(range(len(inputs)))
    while live:
        for i in list(live):
            chunk = inputs[i][pos[i]:pos[i] + 65536]
            if not chunk:
                live.remove(i)
                continue
            pos[i] += len(chunk)
            w.write(("stdout", "stderr")[i], chunk)
    w.close()
    return d


_TIME = re.compile(rb'"time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z"}\n')


def _files(d) -> dict:
    out = {}
    for p in sorted(d.iterdir()):
        data = p.read_bytes()
        out[p.name] = _TIME.sub(b'"time":"T"}\n', data)
        assert out[p.name].count(b"\n") == data.count(b"\n")  # every record had a well-formed time
    return out


def _same(exe, tmp_path, inputs, **kw):
    code, cdir = run_c(exe, tmp_path, inputs, **kw)
    assert code == 128 + signal.SIGTERM
    want = _files(run_python(tmp_path, inputs, **kw))
    got = _files(cdir)
    assert list(got) == list(want)
    for name in want:
        assert got[name] == want[name], name
    return got


def _hostile(rng: random.Random, n: int) -> bytes:
    """Invalid and valid UTF-8, truncated and overlong sequences, surrogates, controls."""
    pieces = [b"\x00", b"\r", b"\n", b"\x1b[31m", b'"', b"\\", b"\t", b"\x7f", b"\x08\x0c",
              "é€𝄞\u2028".encode(), b"\xc0\xaf", b"\xe0\x80\xaf", b"\xed\xa0\x80", b"\xed\x9f\xbf",
              b"\xf0\x8f\xbf\xbf", b"\xf4\x90\x80\x80", b"\xf4\x8f\xbf\xbf", b"\xf5", b"\xff",
              b"\xe2\x82", b"\xf0\x9d\x84", b"\xc3", b"\x80\xbf", b"plain text "]
    out = bytearray()
    while len(out) < n:
        if rng.random() < 0.3:
            out += bytes(rng.randrange(256) for _ in range(rng.randrange(1, 8)))
        else:
            out += rng.choice(pieces)
    return bytes(out[:n])


def test_hostile_bytes_give_the_same_records(exe, tmp_path):
    rng = random.Random(14)
    stdout = _hostile(rng, 300_000) + b"x" * (1 << 20) + b"\n" + _hostile(rng, 5000)  # ends mid-line
    stderr = b"\xe2\x82\n" * 1000 + b"y" * 40000 + "\u00e9".encode() * 20000 + b"\xf0\x9f"
    got = _same(exe, tmp_path, [stdout, stderr])
    assert b"\\u0000" in got["x-json.log"] and b"\xef\xbf\xbd" in got["x-json.log"]


def test_a_burst_of_50_mib(exe, tmp_path):
    rng = random.Random(50)
    block = _hostile(rng, 1 << 20)
    _same(exe, tmp_path, [block * 50])


def test_rotation_is_the_same(exe, tmp_path):
    rng = random.Random(3)
    got = _same(exe, tmp_path, [_hostile(rng, 400_000), _hostile(rng, 100_000)], max_size=50_000, max_files=4)
    assert set(got) == {"x-json.log", "x-json.log.1", "x-json.log.2", "x-json.log.3"}


def test_a_single_file_is_truncated(exe, tmp_path):
    rng = random.Random(4)
    _same(exe, tmp_path, [_hostile(rng, 200_000)], max_size=30_000, max_files=1)


def test_an_attach_client_hands_over_to_python(exe, tmp_path):
    import socket
    log, fin, fb = tmp_path / "x-json.log", tmp_path / "finish", tmp_path / "fallback"
    inp = tmp_path / "in0"
    inp.write_bytes(b"whole line\npartial")
    sock = tmp_path / "l.sock"
    proc = subprocess.Popen([sys.executable, "-c", LAUNCHER, exe, str(log), "1000000", "3", str(sock),
                             str(fin), str(fb), str(inp)], stdout=subprocess.PIPE)
    try:
        child = int(proc.stdout.readline().split()[0])
        _wait(lambda: log.exists() and b"whole line" in log.read_bytes())
        c = socket.socket(socket.AF_UNIX)
        c.connect(str(sock))  # waits in the backlog: the C side never accepts
        assert proc.wait(timeout=30) == 0
        c.close()
        os.kill(child, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert fb.read_text() == "fallback" and not fin.exists()
    # its partial line was logged before the exec, as LogWriter.close() does
    assert [r.split(b'","stream"')[0] for r in log.read_bytes().splitlines()] == \
        [b'{"log":"whole line\\n', b'{"log":"partial']
