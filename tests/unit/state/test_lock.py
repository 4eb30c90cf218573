"""file_lock: one holder at a time, even while holders discard the lock's file."""

from __future__ import annotations

import os
import time

from sampan.state.lock import acquire, file_lock


def _worker(path, marker, rounds: int, discard_every: int) -> int:
    for i in range(rounds):
        with file_lock(path) as lock:
            try:
                fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)  # someone else inside?
            except FileExistsError:
                return 1
            os.close(fd)
            time.sleep(0.0005)
            os.unlink(marker)
            if i % discard_every == 0:
                lock.discard()
    return 0


def test_discarding_holders_never_let_two_in(tmp_path):
    path, marker = tmp_path / "locks" / "c1", tmp_path / "inside"
    pids = []
    for n in range(6):
        pid = os.fork()
        if pid == 0:
            code = 2
            try:
                code = _worker(path, marker, 40, 2 + n % 3)
            finally:
                os._exit(code)
        pids.append(pid)
    codes = [os.waitstatus_to_exitcode(os.waitpid(p, 0)[1]) for p in pids]
    assert codes == [0] * 6  # 1 would mean two holders at once
    assert len(list(path.parent.iterdir())) <= 1


def test_a_waiter_on_a_discarded_file_takes_the_fresh_one(tmp_path):
    path = tmp_path / "l"
    r, w = os.pipe()
    with file_lock(path) as lock:
        pid = os.fork()
        if pid == 0:
            try:
                os.closerange(3, w)  # the inherited copy of our locked fd would hold the lock too
                os.closerange(w + 1, 4096)
                fd = acquire(path)  # blocks on the file we hold, which is then discarded
                same = os.fstat(fd).st_ino == os.stat(path).st_ino
                os.write(w, b"1" if same else b"0")
            finally:
                os._exit(0)
        time.sleep(0.2)
        lock.discard()
    os.close(w)
    got = os.read(r, 1)
    os.waitpid(pid, 0)
    assert got == b"1"
    assert path.exists()  # made afresh by the waiter
