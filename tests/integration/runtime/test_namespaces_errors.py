"""Joining a given network namespace, setup failures and their cleanup, over both runtimes."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from sampan.errors import ContainerNotFound, RuntimeFailure
from sampan.runtime.base import Stdio
from tests.integration.runtime.bundle import token
from tests.support import cgroups


@pytest.fixture
def netns():
    name = "sampan-rt-" + token()
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        yield Path("/run/netns") / name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=True)


def test_joins_the_network_namespace_at_the_given_path(h, netns):
    def edit(spec):
        for ns in spec["linux"]["namespaces"]:
            if ns["type"] == "network":
                ns["path"] = str(netns)
    rc, out = h.run(["readlink", "/proc/self/ns/net"], edit)
    assert rc == 0, out
    assert out.strip() == f"net:[{os.stat(netns).st_ino}]"


def test_a_failing_setup_step_is_one_line_and_leaves_nothing(h):
    def edit(spec):
        spec["linux"]["sysctl"] = {"net.no_such_knob": "1"}
    cid, bundle = h.bundle(["true"], edit)
    with pytest.raises(RuntimeFailure) as e:
        h.rt.create(cid, bundle, Stdio())
    msg = str(e.value)
    assert "\n" not in msg.strip()
    assert "no_such_knob" in msg or "sysctl" in msg
    with pytest.raises(ContainerNotFound):
        h.rt.state(cid)
    assert not cgroups.dirs(f"sampan-test/{cid}")


def test_delete_of_a_created_container_removes_its_waiting_init(h):
    cid, created, r = h.create(["sleep", "100"])
    assert h.rt.state(cid).status == "created"
    h.rt.delete(cid)
    _, status = os.waitpid(created.pid, 0)
    os.close(r)
    assert os.WIFSIGNALED(status)
    assert not cgroups.dirs(f"sampan-test/{cid}")
    with pytest.raises(ContainerNotFound):
        h.rt.state(cid)


def test_an_early_child_failure_is_reported_not_masked(h, tmp_path):
    not_a_namespace = tmp_path / "plain-file"
    not_a_namespace.write_text("")

    def edit(spec):
        for ns in spec["linux"]["namespaces"]:
            if ns["type"] == "network":
                ns["path"] = str(not_a_namespace)
    cid, bundle = h.bundle(["true"], edit)
    with pytest.raises(RuntimeFailure) as e:
        h.rt.create(cid, bundle, Stdio())
    msg = str(e.value)
    assert "\n" not in msg.strip()
    if h.rt.name == "native":  # runc 1.1 only says "can't get final child's PID from pipe: EOF"
        assert msg == f"join network namespace {not_a_namespace}: setns: Invalid argument", msg
    with pytest.raises(ContainerNotFound):
        h.rt.state(cid)


def test_a_cgroup_the_kernel_refuses_is_one_line_and_leaves_nothing(h):
    # the native runtime makes the cgroup after forking the init: the child must go too
    def edit(spec):
        spec["linux"]["resources"] = {"cpu": {"quota": 1, "period": 100000}}  # quota < 1 ms: EINVAL
    cid, bundle = h.bundle(["true"], edit)
    with pytest.raises(RuntimeFailure) as e:
        h.rt.create(cid, bundle, Stdio())
    assert "\n" not in str(e.value).strip()
    with pytest.raises(ContainerNotFound):
        h.rt.state(cid)
    assert not cgroups.dirs(f"sampan-test/{cid}")
