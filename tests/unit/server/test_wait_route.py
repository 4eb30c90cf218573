"""The API's wait: a record read just before the container's monitor wrote the exit and
ended looks like a lost monitor (exit code 255); the wait must read again, not report it.
docker 20.10's `start -a` exited 255 with the right output in CI 1 run in 3."""

import subprocess

from sampan.engine.records import ContainerRecord, now_rfc3339
from sampan.server.container_routes import _wait


def _rec(state: str, pid: int, code: int | None = None) -> ContainerRecord:
    dead = subprocess.Popen(["true"])
    dead.wait()  # a pid that is gone: the container's and its monitor's
    return ContainerRecord(id="c" * 64, name="c1", image_id="sha256:" + "0" * 64, image_ref="busybox",
                           created=now_rfc3339(), config={}, state=state, pid=pid or dead.pid,
                           monitor_pid=dead.pid, exit_code=code, started_at="t1")


class _Engine:
    def __init__(self, reads: list[ContainerRecord]) -> None:
        self.reads = reads

    def container(self, ref: str) -> ContainerRecord:
        return self.reads.pop(0) if len(self.reads) > 1 else self.reads[0]


def test_a_stale_running_record_is_read_again_not_reported_as_255():
    stale = _rec("running", 0)  # its process and its monitor both gone: lost, or stale
    final = _rec("exited", 0, code=4)
    emitted: list = []
    _wait(_Engine([stale, stale, final]), emitted.append, "c1", "not-running")
    assert emitted == ["waiting", 4]
