"""A caller with other threads running still gets its container init as pid 1 and as its child."""

from __future__ import annotations

import os
import threading

from sampan.runtime import forking
from tests.integration.runtime.conftest import exit_code, read_all


def test_create_from_a_threaded_caller(h, monkeypatch):
    used = []
    real = forking._fork_via_intermediate
    monkeypatch.setattr(forking, "_fork_via_intermediate", lambda *a: used.append(1) or real(*a))
    stop = threading.Event()
    t = threading.Thread(target=stop.wait, daemon=True)
    t.start()
    try:
        cid, created, r = h.create(["sh", "-c", "echo pid=$$; exit 4"])
        h.rt.start(cid)
        _, status = os.waitpid(created.pid, 0)  # our child (reparented to us, the subreaper)
        assert exit_code(status) == 4
        assert read_all(r).strip() == "pid=1"
        if h.rt.name == "native":
            assert used, "a threaded caller must take the intermediate-fork path"
    finally:
        stop.set()
        t.join()
