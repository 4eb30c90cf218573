"""Fixtures for runtime tests: every test runs once per runtime (native and runc)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from sampan.errors import SampanError
from sampan.runtime.base import Stdio, become_subreaper
from sampan.runtime.factory import get_runtime
from sampan.runtime.handshake import reap
from tests.integration.runtime.bundle import make_bundle, token
from tests.support import cgroups, leaks


@pytest.fixture(scope="session", autouse=True)
def _subreaper():
    become_subreaper()


def exit_code(status: int) -> int:
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


def read_all(fd: int) -> str:
    chunks = []
    while True:
        try:
            b = os.read(fd, 65536)
        except OSError:  # EIO from a pty master once the slave side is gone
            break
        if not b:
            break
        chunks.append(b)
    os.close(fd)
    return b"".join(chunks).decode(errors="replace")


class Harness:
    """Creates containers from the busybox tar and removes every one of them at teardown."""

    def __init__(self, rt, base: Path, tar: Path) -> None:
        self.rt, self.base, self.tar = rt, base, tar
        self.cids: list[str] = []
        self.pids: list[int] = []

    def bundle(self, args: list[str], edit=None) -> tuple[str, Path]:
        cid = "t" + token()
        bundle, _ = make_bundle(self.base, self.tar, args, cid, edit=edit)
        return cid, bundle

    def create(self, args: list[str], edit=None, terminal: bool = False):
        """Create with stdout+stderr on one pipe; returns (cid, Created, read fd)."""
        def _edit(spec):
            spec["process"]["terminal"] = terminal
            if edit:
                edit(spec)
        cid, bundle = self.bundle(args, _edit)
        if terminal:
            created = self.rt.create(cid, bundle, Stdio(terminal=True))
            self.cids.append(cid)
            self.pids.append(created.pid)
            return cid, created, created.pty_master
        r, w = os.pipe()
        try:
            created = self.rt.create(cid, bundle, Stdio(stdout=w, stderr=w))
        except BaseException:
            os.close(r)
            raise
        finally:
            os.close(w)
        self.cids.append(cid)
        self.pids.append(created.pid)
        return cid, created, r

    def run(self, args: list[str], edit=None) -> tuple[int, str]:
        """create + start + wait; returns (exit code, output)."""
        cid, created, r = self.create(args, edit)
        self.rt.start(cid)
        _, status = os.waitpid(created.pid, 0)
        out = read_all(r)
        return exit_code(status), out

    def cleanup(self) -> None:
        for cid in self.cids:
            try:
                self.rt.delete(cid, force=True)
            except SampanError:
                pass
        for pid in self.pids:
            reap(pid)


@pytest.fixture(params=["native", "runc"])
def h(request, busybox_tar):
    """A harness over one runtime, with a leak check of what a runtime can leak: mounts and
    processes under the private dir, and the containers' cgroups. (The shared state_dirs
    fixture also diffs host-wide links and iptables, which concurrent network tests change.)"""
    base = Path(tempfile.mkdtemp(prefix="sampan-rt-test-"))
    root, runroot = base / "root", base / "run"
    root.mkdir(parents=True)
    rt = get_runtime(request.param, runroot / "runtime")
    harness = Harness(rt, root, busybox_tar)
    try:
        yield harness
    finally:
        harness.cleanup()
        leaks.release_layer_images(str(base))
        problems = {"mounts": leaks.mounts_under(str(base)), "processes": leaks.processes_with(str(base)),
                    "cgroups": [c for cid in harness.cids for c in leaks.cgroups_named(cid)]}
        shutil.rmtree(base, ignore_errors=True)
    problems = {k: v for k, v in problems.items() if v}
    assert not problems, f"test leaked host state: {problems}"


@pytest.fixture(scope="session", autouse=True)
def _remove_parent_cgroups():
    """The bundles put containers under /sampan-test/<id>; leave no empty parent behind
    (rmdir fails harmlessly while another worker still has a container in it)."""
    yield
    for parent in cgroups.parents_named("sampan-test"):
        try:
            parent.rmdir()
        except OSError:
            pass
