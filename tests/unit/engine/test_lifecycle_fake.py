"""The engine's lifecycle over a fake runtime: no root, no mounts, no container.

What is checked is the engine's own part: which runtime verbs it calls and in which
order, what it records, what it leaves behind."""

from __future__ import annotations

import os
import signal
import subprocess
import threading

import pytest

from sampan.engine import lifecycle, monitor_lost, overlay, pause, runstate
from sampan.engine.context import Context
from sampan.engine.records import ContainerRecord, now_rfc3339
from sampan.engine.status import EXITED, status_of
from sampan.errors import InvalidState, RuntimeFailure
from sampan.runtime.base import OCIRuntime, cgroups_path
from sampan.state.paths import Paths
from sampan.state.procstat import start_time
from tests.unit.engine.fake_runtime import FakeRuntime


@pytest.fixture
def world(tmp_path, monkeypatch):
    ctx = Context(Paths(tmp_path / "root", tmp_path / "run"))
    fake = FakeRuntime()
    monkeypatch.setattr(ctx, "runtime_for", lambda rec: fake)
    unmounted = []
    monkeypatch.setattr(overlay, "unmount", unmounted.append)
    monkeypatch.setattr(pause, "is_frozen", lambda cid, parent=None: False)
    yield ctx, fake, unmounted
    ctx.db.close()


def make(ctx: Context, name: str, state: str = "created", **config) -> ContainerRecord:
    cid = os.urandom(32).hex()
    cfg = {"mounts": [], "network": "none", "labels": {}, "auto_remove": False, "argv": ["true"]}
    cfg.update(config)
    rec = ContainerRecord(id=cid, name=name, image_id="sha256:" + "0" * 64, image_ref="img",
                          created=now_rfc3339(), config=cfg, state=state)
    ctx.container_files(cid)["dir"].mkdir(parents=True)
    ctx.containers.insert(rec)
    return rec


@pytest.fixture
def process():
    """A process standing for a container's init; reaped as soon as it dies."""
    proc = subprocess.Popen(["sleep", "60"])
    threading.Thread(target=proc.wait, daemon=True).start()
    yield proc
    if proc.poll() is None:
        proc.kill()


def running(ctx: Context, fake: FakeRuntime, name: str, proc, **config) -> ContainerRecord:
    rec = make(ctx, name, **config)
    ctx.containers.update(rec.id, state="running", pid=proc.pid, pid_start=start_time(proc.pid))
    fake.pids[rec.id] = proc.pid
    return ctx.containers.get(rec.id)


def test_the_start_hook_gets_the_one_cgroup_path(world):
    ctx, fake, _ = world
    rec = make(ctx, "a")
    lifecycle._prepare_cgroup(fake, rec)
    assert fake.calls == [("prepare_cgroup", f"/sampan/{rec.id}")]
    assert cgroups_path(rec.id) == f"/sampan/{rec.id}"


def test_the_interface_defaults_prime_and_discard_nothing(monkeypatch):
    primed = []
    import sampan.runtime.cgroups.prime as prime_mod
    monkeypatch.setattr(prime_mod, "prime", lambda: primed.append(1))

    class Minimal(OCIRuntime):
        name = "minimal"

    rt = Minimal()
    rt.prepare_cgroup("/sampan/x")
    rt.discard_cgroup("/sampan/x")
    assert primed == [1]
    with pytest.raises(NotImplementedError):
        rt.start("x")


def test_cleanup_releases_in_order_and_tolerates_a_runtime_that_never_made_it(world):
    ctx, fake, unmounted = world
    rec = make(ctx, "a")
    runstate.cleanup_after_exit(ctx, rec)  # the runtime says "no such container": fine
    assert fake.calls == [("delete", rec.id, True), ("discard_cgroup", cgroups_path(rec.id))]
    assert unmounted == [ctx.container_files(rec.id)["rootfs"]]
    assert ctx.containers.get(rec.id) is not None  # not --rm: the record stays


def test_cleanup_goes_on_when_the_runtime_fails(world, capsys):
    ctx, fake, unmounted = world
    fake.fail_delete = RuntimeFailure("runc said no")
    rec = make(ctx, "a", auto_remove=True)
    runstate.cleanup_after_exit(ctx, rec, exit_code=3)
    assert "fake could not delete container" in capsys.readouterr().err
    assert fake.verbs() == ["delete", "discard_cgroup"]
    assert unmounted and ctx.containers.get(rec.id) is None
    assert not ctx.container_files(rec.id)["dir"].exists()
    assert ctx.containers.exit_code_of_removed(rec.id) == 3  # kept for `wait`
    assert lifecycle.wait(ctx, rec) == 3


def test_a_failed_start_is_written_down_and_undone(world):
    ctx, fake, unmounted = world
    created, exited = make(ctx, "c"), make(ctx, "e", state="exited")
    for rec in (created, exited):
        runstate.record_failed_start(ctx, rec, RuntimeFailure("no such file: /nope"))
    assert ctx.containers.get(created.id).state == "created"
    assert ctx.containers.get(exited.id).state == "exited"
    for rec in (created, exited):
        cur = ctx.containers.get(rec.id)
        assert cur.error == "no such file: /nope" and cur.exit_code == 125
    assert fake.verbs() == ["delete", "discard_cgroup"] * 2 and len(unmounted) == 2


def test_only_a_running_container_takes_a_signal(world):
    ctx, fake, _ = world
    rec = make(ctx, "a")
    with pytest.raises(InvalidState, match="is not running"):
        lifecycle.kill(ctx, rec, "SIGTERM")
    assert lifecycle.stop(ctx, rec) is None  # nothing to stop: not an error
    assert fake.calls == []


def test_kill_signals_the_recorded_process(world, process):
    ctx, fake, _ = world
    rec = running(ctx, fake, "a", process)
    st = status_of(rec)
    assert st.running and st.monitor_lost  # nobody monitors it: the next look settles it
    lifecycle.kill(ctx, rec, "SIGTERM")
    assert process.wait(timeout=10) == -signal.SIGTERM


def test_a_lost_monitor_is_settled_through_the_runtime(world, process):
    ctx, fake, unmounted = world
    rec = running(ctx, fake, "a", process)
    cur = monitor_lost.noticed(ctx, rec)
    assert process.wait(timeout=10) == -signal.SIGKILL
    assert ("kill", rec.id, signal.SIGKILL, True) in fake.calls
    assert fake.verbs()[-2:] == ["delete", "discard_cgroup"]
    assert cur.state == EXITED and cur.exit_code == 137 and cur.error == monitor_lost.MONITOR_DIED
    assert status_of(cur).exited and not status_of(cur).running


def test_rm_refuses_a_running_container_without_force(world, process):
    ctx, fake, _ = world
    rec = running(ctx, fake, "a", process)
    with pytest.raises(InvalidState, match="is running"):
        lifecycle.remove(ctx, rec)
    assert process.poll() is None and fake.calls == []


def test_rm_of_an_exited_container(world):
    ctx, fake, unmounted = world
    rec = make(ctx, "a", state="exited")
    lifecycle.remove(ctx, rec)
    assert ctx.containers.get(rec.id) is None
    assert not ctx.container_files(rec.id)["dir"].exists()
    assert fake.verbs() == ["delete", "discard_cgroup"] and unmounted
    assert not (ctx.paths.locks / rec.id).exists()  # its lock went with it


def test_stop_of_a_process_that_outlives_sigkill_says_why(world, monkeypatch):
    # a zombie its (here: stuck) monitor does not reap: SIGKILL cannot change that, and stop
    # must say so in words and what to do, not "internal error: TimeoutError"
    ctx, fake, _ = world
    proc = subprocess.Popen(["true"])
    try:
        os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)  # dead, not reaped
        rec = running(ctx, fake, "stuck", proc)
        ctx.containers.update(rec.id, monitor_pid=os.getpid(), monitor_start=start_time(os.getpid()))
        monkeypatch.setattr(lifecycle, "KILL_GRACE", 0.3)
        with pytest.raises(RuntimeFailure, match=r"was sent SIGKILL after 0s but has not exited 0.3s later: its process is gone but its "
                           r"exit was not recorded: `sampan rm -f stuck`"):
            lifecycle.stop(ctx, ctx.containers.get(rec.id), timeout=0)
    finally:
        proc.wait()
