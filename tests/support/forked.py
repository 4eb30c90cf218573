"""Run a function in a forked child and get back what it returned (bytes): for checks that
must not change the test process itself (its cgroup, its threads)."""

from __future__ import annotations

import os


def in_child(fn) -> bytes:
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            os.write(w, fn())
        finally:
            os._exit(0)
    os.close(w)
    chunks = []
    while chunk := os.read(r, 65536):
        chunks.append(chunk)
    os.close(r)
    os.waitpid(pid, 0)
    return b"".join(chunks)
