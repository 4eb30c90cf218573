"""The engine used in-process by a long-lived caller (an API server, a build): several
engines on one root in one process must not hand an open SQLite connection to a forked
monitor (that broke the monitor's own database work: "disk I/O error")."""

from sampan.engine import Engine, RunOptions
from sampan.engine.options import ListOptions
from sampan.state import db as dbmod


def test_two_engines_in_one_process_each_start_containers(sampan):
    engines = [Engine(str(sampan.root), str(sampan.runroot)) for _ in range(2)]
    try:
        engines[0].containers.list(ListOptions(all=True))  # its connection is open when the other forks
        for i, engine in enumerate(engines + engines):
            rec, _ = engine.run(RunOptions(image="busybox", args=["sh", "-c", f"exit {i}"], network="none"),
                                detach=True)
            assert engine.wait(rec.id) == i
            assert engine.container(rec.id).state == "exited"
            engine.remove(rec.id)
    finally:
        for engine in engines:
            engine.ctx.db.close()


def test_close_all_closes_every_open_database(tmp_path):
    a, b = dbmod.Database(tmp_path / "x.db"), dbmod.Database(tmp_path / "x.db")
    a.conn, b.conn
    dbmod.close_all()
    assert a._conn is None and b._conn is None
