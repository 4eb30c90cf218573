"""The API's wait: a record read just before the container's monitor wrote the exit and
ended looked like a lost monitor (exit code 255). docker 20.10's `start -a` exited 255 with
the right output in CI 1 run in 3. The records layer now reads such a record again
(status.status_of): the route reports the recorded code even when every read it makes is
that stale one."""

import pytest

from sampan.engine import procs
from sampan.engine.records import ContainerRecord, ContainerTable
from sampan.server.container_routes import _wait
from sampan.state.db import Database

INIT, MONITOR = 100, 200


class _Engine:
    """Hands out the one record read before the exit, however often it is asked."""

    def __init__(self, rec: ContainerRecord) -> None:
        self.rec, self.reads = rec, 0

    def container(self, ref: str) -> ContainerRecord:
        self.reads += 1
        if self.reads > 50:
            pytest.fail("the wait kept reading: it never believed the record")
        return self.rec


def test_a_stale_running_record_gives_the_recorded_code_not_255(tmp_path, monkeypatch):
    live = {INIT, MONITOR}
    monkeypatch.setattr(procs, "alive", lambda pid, start: pid in live)
    db = Database(tmp_path / "sampan.db")
    try:
        table = ContainerTable(db)
        table.insert(ContainerRecord(id="c" * 64, name="c1", image_id="sha256:" + "0" * 64,
                                     image_ref="busybox", created="t0", config={}, state="running",
                                     pid=INIT, pid_start=1, monitor_pid=MONITOR, monitor_start=1,
                                     started_at="t1"))
        stale = table.get("c" * 64)
        table.update("c" * 64, state="exited", exit_code=4)  # the monitor writes the exit...
        live.clear()                                          # ...and ends
        emitted: list = []
        _wait(_Engine(stale), emitted.append, "c1", "not-running")
        assert emitted == ["waiting", 4]
    finally:
        db.close()
