import json
import os

import pytest

from sampan.errors import Conflict, ContainerNotFound, InvalidArgument, InvalidState
from sampan.runtime.base import Stdio
from sampan.runtime.factory import get_runtime
from sampan.runtime.native import NativeRuntime
from sampan.runtime.statefile import RuntimeRecord, StateDir
from sampan.state.procstat import proc_stat
from sampan.runtime.syscalls import RecordingSyscalls


def record(cid, pid, start):
    return RuntimeRecord(cid, pid, start, "/b", "/sampan/" + cid, 0.0)


def test_status_comes_from_the_kernel_not_the_file(tmp_path):
    sd = StateDir(tmp_path)
    sd.reserve("c1")
    me = os.getpid()
    rec = record("c1", me, proc_stat(me)[1])
    sd.save(rec)
    os.mkfifo(sd.fifo("c1"))
    assert sd.status(sd.load("c1")) == "created"
    sd.fifo("c1").unlink()
    assert sd.status(rec) == "running"
    # same pid, different start time: a reused pid is not the container
    assert sd.status(record("c1", me, proc_stat(me)[1] + 1)) == "stopped"
    assert sd.status(record("c1", 2 ** 22 + 5, 1)) == "stopped"


def test_reserve_twice_conflicts_and_ids_are_checked(tmp_path):
    sd = StateDir(tmp_path)
    sd.reserve("abc")
    with pytest.raises(Conflict):
        sd.reserve("abc")
    for bad in ("", "../x", "a/b", "-x"):
        with pytest.raises(InvalidArgument):
            sd.dir(bad)
    with pytest.raises(ContainerNotFound):
        sd.load("nothere")


def test_native_create_rejects_a_bad_bundle_before_touching_anything(tmp_path):
    rt = NativeRuntime(tmp_path / "state", sys=RecordingSyscalls())
    bundle = tmp_path / "b"
    bundle.mkdir()
    with pytest.raises(InvalidArgument) as e:
        rt.create("c1", bundle, Stdio())
    assert "config.json" in str(e.value)
    (bundle / "config.json").write_text(json.dumps({"process": {"args": ["sh"]}, "root": {"path": "nope"}}))
    with pytest.raises(InvalidArgument):
        rt.create("c1", bundle, Stdio())
    assert rt.sys.calls == []
    assert not (tmp_path / "state" / "c1").exists()


def test_verbs_on_unknown_or_stopped_containers(tmp_path):
    rt = NativeRuntime(tmp_path / "state", sys=RecordingSyscalls())
    with pytest.raises(ContainerNotFound):
        rt.state("ghost")
    rt.states.reserve("dead")
    rt.states.save(record("dead", 2 ** 22 + 7, 1))
    assert rt.state("dead").status == "stopped"
    with pytest.raises(InvalidState):
        rt.start("dead")
    with pytest.raises(InvalidState):
        rt.kill("dead", 15)
    with pytest.raises(InvalidState):
        rt.exec("dead", {"args": ["true"], "cwd": "/"}, Stdio())


def test_get_runtime_names(tmp_path):
    assert get_runtime("native", tmp_path).name == "native"
    with pytest.raises(InvalidArgument):
        get_runtime("docker", tmp_path)


def test_os_errors_become_one_line_runtime_failures(tmp_path):
    from sampan.errors import RuntimeFailure
    blocker = tmp_path / "file"
    blocker.write_text("")
    bundle = tmp_path / "b"
    (bundle / "rootfs").mkdir(parents=True)
    (bundle / "config.json").write_text(json.dumps({"process": {"args": ["sh"], "cwd": "/"},
                                                    "root": {"path": "rootfs"}}))
    rt = NativeRuntime(blocker / "state", sys=RecordingSyscalls())  # state dir under a regular file
    with pytest.raises(RuntimeFailure) as e:
        rt.create("c1", bundle, Stdio())
    assert "create container c1" in str(e.value) and "\n" not in str(e.value)
    (tmp_path / "dirconfig" / "config.json").mkdir(parents=True)
    with pytest.raises(InvalidArgument):
        NativeRuntime(tmp_path / "s").create("c2", tmp_path / "dirconfig", Stdio())
