"""A container's status from the kernel, and the questions the verbs ask of it."""

import pytest

from sampan.engine import pause, procs
from sampan.engine.records import ContainerRecord
from sampan.engine.status import CREATED, EXIT_UNKNOWN, EXITED, PAUSED, RUNNING, status_of


@pytest.fixture
def alive(monkeypatch):
    """Which (pid, start) pairs are alive, and which container is frozen."""
    live: set[int] = set()
    frozen: set[str] = set()
    monkeypatch.setattr(procs, "alive", lambda pid, start: pid in live)
    monkeypatch.setattr(pause, "is_frozen", lambda cid, parent=None: cid in frozen)
    return live, frozen


def rec(state, pid=0, monitor_pid=0, exit_code=0):
    return ContainerRecord(id="c" * 64, name="n", image_id="i", image_ref="r", created="", config={},
                           state=state, pid=pid, pid_start=1, monitor_pid=monitor_pid, monitor_start=1,
                           exit_code=exit_code)


INIT, MONITOR = 100, 200


@pytest.mark.parametrize("state, live, want", [
    # recorded state, live processes -> (state, running, starting, exited, monitor_lost, lost, exit code)
    (CREATED, set(), (CREATED, False, False, False, False, False, 0)),
    (CREATED, {MONITOR}, (CREATED, False, True, False, False, False, 0)),   # a start under way
    (RUNNING, {INIT, MONITOR}, (RUNNING, True, False, False, False, False, 0)),
    (RUNNING, {MONITOR}, (RUNNING, True, False, False, False, False, 0)),   # exited, being recorded
    (RUNNING, {INIT}, (RUNNING, True, False, False, True, False, 0)),       # its monitor died
    (RUNNING, set(), (EXITED, False, False, True, True, True, EXIT_UNKNOWN)),
    (EXITED, set(), (EXITED, False, False, True, False, False, 7)),
    (EXITED, {MONITOR}, (EXITED, False, False, True, False, False, 7)),     # cleaning up
])
def test_transitions(alive, state, live, want):
    alive[0].update(live)
    st = status_of(rec(state, INIT, MONITOR, exit_code=7 if state == EXITED else 0))
    assert (st.state, st.running, st.starting, st.exited, st.monitor_lost, st.lost, st.exit_code) == want
    assert st.docker_state == st.state


def test_paused_is_running_to_the_verbs_and_paused_to_docker(alive):
    alive[0].update({INIT, MONITOR})
    alive[1].add("c" * 64)
    st = status_of(rec(RUNNING, INIT, MONITOR))
    assert st.running and st.paused and st.docker_state == PAUSED
