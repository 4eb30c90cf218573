"""The native runtime's container dies with the process that created it (its monitor, or a
build), even when that process is SIGKILLed and the container runs as another user
(a change of user clears the parent-death signal: the init sets it again)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.support import leaks

CREATOR = """
import sys
from pathlib import Path
from sampan.runtime.base import Stdio, become_subreaper
from sampan.runtime.factory import get_runtime
become_subreaper()
rt = get_runtime("native", Path(sys.argv[1]))
created = rt.create(sys.argv[2], Path(sys.argv[3]), Stdio())
rt.start(sys.argv[2])
print(created.pid, flush=True)
sys.stdin.read()  # until the test kills us
"""


@pytest.mark.parametrize("uid", [0, 1000])
def test_container_dies_with_its_creator(h, uid):
    if h.rt.name != "native":
        pytest.skip("runc ties no container to the process that created it")

    def edit(spec):
        spec["process"]["user"] = {"uid": uid, "gid": uid}
    cid, bundle = h.bundle(["sleep", "1000"], edit)
    h.cids.append(cid)
    creator = subprocess.Popen([sys.executable, "-c", CREATOR, str(h.rt.states.root), cid, str(bundle)],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        pid = int(creator.stdout.readline())
        processes = {(pid, leaks.start_time(pid))}
        assert os.stat(f"/proc/{pid}").st_uid == uid
        creator.kill()
        creator.wait()
        deadline = time.monotonic() + 10
        while leaks.still_alive(processes) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not leaks.still_alive(processes), "the container outlived the process that made it"
    finally:
        creator.kill()
        creator.wait()
        creator.stdout.close()
        creator.stdin.close()
