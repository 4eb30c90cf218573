"""A record read just before its monitor wrote the exit and ended looks like a lost monitor:
recorded running, its process and its monitor gone. status_of reads it again before it
believes that, so no caller (ps, inspect, wait, events, the API) sees the 255 of a monitor
that was never lost. The race is replayed here on a real table: read, then the monitor's
write, then the judgement."""

from __future__ import annotations

import pickle

import pytest

from sampan.engine import monitor_lost, procs
from sampan.engine.records import ContainerRecord, ContainerTable
from sampan.engine.status import EXIT_UNKNOWN, EXITED, RESTARTING, RUNNING, status_of
from sampan.state.db import Database

CID = "c" * 64
INIT, MONITOR, NEXT_INIT, NEXT_MONITOR = 100, 200, 300, 400


@pytest.fixture
def live(monkeypatch):
    """The (pid) set alive: the test's stand-in for /proc."""
    alive: set[int] = set()
    monkeypatch.setattr(procs, "alive", lambda pid, start: pid in alive)
    from sampan.engine import pause
    monkeypatch.setattr(pause, "is_frozen", lambda cid, parent=None: False)
    return alive


@pytest.fixture
def table(tmp_path):
    db = Database(tmp_path / "sampan.db")
    t = ContainerTable(db)
    t.insert(ContainerRecord(id=CID, name="c1", image_id="sha256:" + "0" * 64, image_ref="busybox",
                             created="2026-01-01T00:00:00Z", config={}, state=RUNNING, pid=INIT, pid_start=1,
                             monitor_pid=MONITOR, monitor_start=1))
    yield t
    db.close()


def _monitor_records_exit(table: ContainerTable, live: set[int], code: int) -> None:
    """What finish.py does at the exit, then the monitor ends."""
    table.update(CID, state="exited", exit_code=code, finished_at="2026-01-01T00:00:01Z")
    live.difference_update({INIT, MONITOR})


def test_a_record_read_before_the_monitor_wrote_the_exit_gives_the_recorded_code(table, live):
    live.update({INIT, MONITOR})
    stale = table.get(CID)  # read while it ran
    live.discard(INIT)      # it exits; its monitor records that, then ends
    _monitor_records_exit(table, live, 0)
    st = status_of(stale)
    assert (st.state, st.exit_code, st.lost, st.monitor_lost) == (EXITED, 0, False, False)
    assert stale.state == "exited" and stale.finished_at == "2026-01-01T00:00:01Z"  # read again, in place


def test_every_finder_hands_out_records_that_read_again(table, live):
    live.update({INIT, MONITOR})
    stale = [table.get(CID), table.find("c1"), table.all()[0]]
    _monitor_records_exit(table, live, 5)
    assert [status_of(r).exit_code for r in stale] == [5, 5, 5]


def test_noticed_does_not_settle_a_stale_record(table, live, monkeypatch):
    live.update({INIT, MONITOR})
    stale = table.get(CID)
    _monitor_records_exit(table, live, 0)
    monkeypatch.setattr(monitor_lost, "settle", lambda ctx, rec: pytest.fail("settled a stale record"))
    cur = monitor_lost.noticed(None, stale)  # type: ignore[arg-type]  (ctx unused unless settling)
    assert cur is stale and cur.exit_code == 0


def test_a_restart_since_the_read_shows_the_new_run(table, live):
    live.update({INIT, MONITOR})
    stale = table.get(CID)
    # it exited, its monitor started the next run (restart policy) and ended
    table.update(CID, pid=NEXT_INIT, monitor_pid=NEXT_MONITOR, restart_count=1)
    live.clear()
    live.update({NEXT_INIT, NEXT_MONITOR})
    st = status_of(stale)
    assert st.running and not st.monitor_lost and stale.pid == NEXT_INIT


def test_restarting_whose_monitor_started_it_again_is_running(table, live):
    table.update(CID, state=RESTARTING, exit_code=1)
    stale = table.get(CID)
    table.update(CID, state=RUNNING, pid=NEXT_INIT, monitor_pid=NEXT_MONITOR)
    live.update({NEXT_INIT, NEXT_MONITOR})
    assert status_of(stale).running


def test_removed_by_its_rm_since_the_read(table, live):
    live.update({INIT, MONITOR})
    stale = table.get(CID)
    table.delete(CID, exit_code=3)  # --rm's finish: gone, its code kept for `wait`
    live.clear()
    st = status_of(stale)
    assert (st.state, st.exit_code, st.removed, st.monitor_lost) == (EXITED, 3, True, False)
    assert monitor_lost.noticed(None, stale) is None  # type: ignore[arg-type]


def test_a_monitor_really_lost_is_still_lost(table, live):
    live.add(INIT)
    rec = table.get(CID)  # its monitor was killed; the record never changes
    st = status_of(rec)
    assert st.running and st.monitor_lost
    live.clear()
    st = status_of(rec)
    assert (st.state, st.exit_code, st.lost, st.monitor_lost) == (EXITED, EXIT_UNKNOWN, True, True)


def test_a_record_made_by_hand_is_judged_as_it_is(live):
    rec = ContainerRecord(id=CID, name="c1", image_id="i", image_ref="r", created="", config={},
                          state=RUNNING, pid=INIT, pid_start=1, monitor_pid=MONITOR, monitor_start=1)
    assert status_of(rec).monitor_lost


def test_a_copy_keeps_the_columns_not_the_database(table, live):
    rec = table.get(CID)
    copy = pickle.loads(pickle.dumps(rec))
    assert copy.table is None and (copy.id, copy.state, copy.pid) == (CID, RUNNING, INIT)


def test_a_shallow_copy_in_this_process_still_reads_again(table, live):
    import copy
    live.update({INIT, MONITOR})
    twin = copy.copy(table.get(CID))
    _monitor_records_exit(table, live, 2)
    assert status_of(twin).exit_code == 2
