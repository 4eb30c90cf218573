"""Build scratch dirs are named by their owner; the sweep takes only those of dead builds."""

import os

from sampan.engine import procs
from sampan.engine.build_scratch import BuildScratch, live_run_cids, owner_of, sweep_dead
from sampan.engine.context import Context
from sampan.state.paths import Paths


def test_owner_is_in_the_name():
    assert owner_of("build-123-456789-abc_def") == (123, 456789)
    assert owner_of("build-abc") is None  # an older sampan's temp dir: not ours to judge
    assert owner_of("blob-0123") is None


def test_sweep_takes_the_scratch_of_dead_builds_only(tmp_path):
    ctx = Context(Paths(tmp_path / "root", tmp_path / "run"))
    ctx.paths.ensure()
    live = BuildScratch(ctx)
    upper = live.temp_dir()
    (upper / "f").write_text("mine")
    live_dir = live.path()
    assert owner_of(live_dir.name) == (os.getpid(), procs.start_time(os.getpid()))
    # a build that died: same pid, another start time (the pid was reused since)
    dead = ctx.paths.tmp / f"build-{os.getpid()}-1-dead"
    (dead / "t-upper").mkdir(parents=True)
    (dead / "run-c0ffee.json").write_text('{"cid": "c0ffee", "runtime": "native", "network": false}')
    assert live_run_cids(ctx) == set()
    assert sweep_dead(ctx) == [dead]
    assert not dead.exists() and (upper / "f").read_text() == "mine"
    live.close()
    assert not live_dir.exists()
    assert os.listdir(ctx.paths.tmp) == []
    ctx.db.close()
