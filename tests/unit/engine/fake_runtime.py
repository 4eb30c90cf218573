"""A runtime that runs nothing: it records the engine's calls, so the engine's lifecycle
(start's cgroup hooks, cleanup, stop, rm, a lost monitor) is tested without root.

A "running" container is any process the test starts (a `sleep`): kill signals it."""

from __future__ import annotations

import os
from pathlib import Path

from sampan.errors import ContainerNotFound, RuntimeFailure
from sampan.runtime.base import Created, OCIRuntime, RuntimeState, Stdio


class FakeRuntime(OCIRuntime):
    name = "fake"

    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self.pids: dict[str, int] = {}       # cid -> the process standing for its init
        self.fail_delete: Exception | None = None

    def create(self, cid: str, bundle: Path, stdio: Stdio, meanwhile=None) -> Created:
        self.calls.append(("create", cid))
        raise RuntimeFailure("the fake runtime starts nothing")

    def start(self, cid: str) -> None:
        self.calls.append(("start", cid))

    def state(self, cid: str) -> RuntimeState:
        if cid not in self.pids:
            raise ContainerNotFound(f"container {cid} does not exist")
        return RuntimeState(cid, "running", self.pids[cid], "/bundle")

    def kill(self, cid: str, sig: int, all: bool = False) -> None:
        self.calls.append(("kill", cid, sig, all))
        if cid not in self.pids:
            raise ContainerNotFound(f"container {cid} does not exist")
        os.kill(self.pids[cid], sig)

    def delete(self, cid: str, force: bool = False) -> None:
        self.calls.append(("delete", cid, force))
        if self.fail_delete is not None:
            raise self.fail_delete
        if self.pids.pop(cid, None) is None:
            raise ContainerNotFound(f"container {cid} does not exist")

    def exec(self, cid: str, process: dict, stdio: Stdio, detach: bool = False) -> Created:
        raise RuntimeFailure("the fake runtime runs nothing")

    def oom_killed(self, cid: str) -> bool:
        return False

    def prepare_cgroup(self, cgroups_path: str) -> None:
        self.calls.append(("prepare_cgroup", cgroups_path))

    def discard_cgroup(self, cgroups_path: str) -> None:
        self.calls.append(("discard_cgroup", cgroups_path))

    def verbs(self) -> list[str]:
        return [c[0] for c in self.calls]
