"""Short containers exiting while readers poll them: no reader ever sees a lost monitor's
255 (or a settle's 137) for a container that exits 0.

A reader that reads a record, then is descheduled while the container exits and its monitor
records that and ends, then judges the record, sees "running, process and monitor gone":
what a lost monitor looks like. On a loaded machine that happened now and then (the API's
wait answered 255 once in a full suite run). Here the readers are made slow on purpose
where it hurts: every look at /proc (procs.alive) in their threads waits first, so the
monitors of real containers end inside the readers' windows many times over."""

from __future__ import annotations

import threading
import time

from sampan.engine import Engine, procs
from sampan.engine.options import ListOptions
from tests.support.polling import poll

N = 6
READER_DELAY = 0.1  # the reader's pause between reading a record and looking at /proc


def _slow_readers(monkeypatch) -> None:
    real = procs.alive

    def alive(pid: int, started: int) -> bool:
        if threading.current_thread().name.startswith("reader"):
            time.sleep(READER_DELAY)
        return real(pid, started)

    monkeypatch.setattr(procs, "alive", alive)


def test_short_containers_never_show_255_while_ps_and_inspect_poll(sampan, tmp_path, monkeypatch):
    gate = tmp_path / "gate"
    gate.mkdir()
    ids = [sampan.ok("run", "-d", "--network", "none", "-v", f"{gate}:/gate", "busybox", "sh", "-c",
                     f"while [ ! -e /gate/go ]; do usleep 20000; done; usleep {k * 150000}; exit 0").strip()
           for k in range(N)]
    _slow_readers(monkeypatch)
    seen: list[tuple[str, str, object]] = []  # (reader, container, what it saw)
    done = threading.Event()
    errors: list[BaseException] = []

    def inspect_loop(cid: str) -> None:
        engine = Engine(str(sampan.root), str(sampan.runroot))
        try:
            while not done.is_set():
                state = engine.containers.inspect(cid)["State"]
                seen.append(("inspect", cid, (state["Status"], state["ExitCode"], state["Error"])))
                if state["Status"] == "exited":
                    return
        except BaseException as e:
            errors.append(e)
        finally:
            engine.ctx.db.close()

    def ps_loop() -> None:
        engine = Engine(str(sampan.root), str(sampan.runroot))
        try:
            while not done.is_set():
                for row in engine.containers.list(ListOptions(all=True)):
                    seen.append(("ps", row.id, (row.state, row.exit_code, row.status.split(")")[0])))
        except BaseException as e:
            errors.append(e)
        finally:
            engine.ctx.db.close()

    readers = [threading.Thread(target=inspect_loop, args=(cid,), name=f"reader-{i}") for i, cid in enumerate(ids)]
    readers.append(threading.Thread(target=ps_loop, name="reader-ps"))
    for t in readers:
        t.start()
    try:
        (gate / "go").touch()
        assert poll(lambda: not any(t.is_alive() for t in readers[:-1]), timeout=60)
    finally:
        done.set()
        for t in readers:
            t.join(timeout=30)
    assert not errors, errors
    monkeypatch.undo()
    codes = [c for _, _, (_, c, _) in seen]
    assert 255 not in codes and 137 not in codes, [s for s in seen if s[2][1] in (255, 137)]
    assert not [s for s in seen if s[0] == "inspect" and s[2][2]], "a State.Error was shown"
    assert sum(1 for s in seen if s[0] == "inspect" and s[2][0] == "exited") == N
    final = [sampan.ok("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}} {{.State.Error}}", cid).split()
             for cid in ids]
    assert final == [["exited", "0"]] * N
    assert "137" not in sampan.ok("events", "--since", "0", "--until", "0s", "--filter", "event=die",
                                  "--format", "{{.Actor.Attributes.exitCode}}").split()
    sampan.ok("rm", *ids)
