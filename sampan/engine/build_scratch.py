"""A build's scratch space under <root>/tmp, and the sweep of what a killed build left.

Every temp dir of one build (step upper dirs, a RUN step's bundle and mount point)
lives in one directory, tmp/build-<pid>-<start time>-<random>/, whose name says
which process owns it. Before a RUN step makes anything (mount, network sandbox,
container), it writes run-<cid>.json there: the container's id, runtime and whether
it has a network sandbox. So whoever finds the scratch of a build that is gone
knows what to kill, unmount and release:
- a guard process (build_guard.py), started at the build's first RUN step, waits
  for the build to end; if the build died (SIGKILL), it sweeps at once;
- every build first sweeps the scratch of builds whose process is gone (the guard
  was killed too, or the machine rebooted), and so does `system prune`;
- on SIGINT, SIGTERM or SIGHUP the build unwinds and cleans up as for any failure.
The native runtime also ties a RUN container's init to the build process (its
parent-death signal), so with it the container dies with the build at once.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path

from typing import TYPE_CHECKING  # typing is loaded on every path that imports this
if TYPE_CHECKING:
    import subprocess

from sampan.engine import procs
from sampan.engine.context import Context
from sampan.errors import SampanError
from sampan.state.atomic import atomic_write_json
from sampan.state.lock import file_lock

PREFIX = "build-"
_NAME = re.compile(r"^build-(\d+)-(\d+)-")
_RUN = "run-"


def owner_of(name: str) -> tuple[int, int] | None:
    """(pid, start time) of the build that owns scratch dir `name`; None if not a scratch dir."""
    m = _NAME.match(name)
    return (int(m.group(1)), int(m.group(2))) if m else None


_guards: list = []  # guards of finished builds of this process, not yet reaped


class BuildScratch:
    """One build's scratch dir, made on first use; close() removes it and what it holds."""

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.dir: Path | None = None
        self._guard: tuple[subprocess.Popen[bytes], int] | None = None  # (Popen, write end of its pipe)

    def path(self) -> Path:
        if self.dir is None:
            self.ctx.paths.tmp.mkdir(parents=True, exist_ok=True)
            me = os.getpid()
            self.dir = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{me}-{procs.start_time(me)}-",
                                             dir=self.ctx.paths.tmp))
        return self.dir

    def temp_dir(self) -> Path:
        return Path(tempfile.mkdtemp(prefix="t-", dir=self.path()))

    def run_dir(self, cid: str, runtime: str, network: bool) -> Path:
        """A RUN step's own dir, its record written before anything is made for it."""
        d = self.temp_dir()
        atomic_write_json(self.path() / f"{_RUN}{cid}.json",
                          {"cid": cid, "runtime": runtime, "network": network, "dir": d.name},
                          durable=False)
        self._start_guard()
        return d

    def run_done(self, cid: str, d: Path) -> None:
        """The step's container, mount and sandbox are released: forget them. If its root is
        still mounted (the unmount failed or was interrupted), close() or a sweep does it."""
        if _mounts_under(d):
            return
        shutil.rmtree(d, ignore_errors=True)
        try:
            os.unlink(self.path() / f"{_RUN}{cid}.json")
        except FileNotFoundError:
            pass

    def close(self) -> None:
        if self.dir is not None:
            sweep_dir(self.ctx, self.dir)
        if self._guard is not None:
            proc, w = self._guard
            self._guard = None
            os.close(w)  # the guard leaves once it sees the scratch is gone
            _guards.append(proc)  # not waited for here: reaped at a later build's start

    def _start_guard(self) -> None:
        if self._guard is not None:
            return
        _guards[:] = [p for p in _guards if p.poll() is None]
        import subprocess
        import sys

        r, w = os.pipe2(os.O_CLOEXEC)
        me = os.getpid()
        pkg_parent = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        boot = ("import sys; sys.path.insert(0, sys.argv[1]); "
                "from sampan.engine.build_guard import main; main(sys.argv[2:])")
        try:
            log = os.open(self.ctx.paths.runroot / "build-guard.log",
                          os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        except OSError:
            log = os.open(os.devnull, os.O_WRONLY | os.O_CLOEXEC)
        try:
            proc = subprocess.Popen(
                [sys.executable, "-I", "-c", boot, pkg_parent, str(self.ctx.paths.root),
                 str(self.ctx.paths.runroot), str(self.path()), str(me), str(procs.start_time(me))],
                stdin=r, stdout=log, stderr=log, start_new_session=True, close_fds=True, cwd="/")
        except OSError:
            os.close(w)
            return  # no guard: the next build sweeps instead
        finally:
            os.close(r)
            os.close(log)
        self._guard = (proc, w)


def _owner_alive(name: str) -> bool:
    owner = owner_of(name)
    return owner is not None and procs.alive(*owner)


def scratch_dirs(ctx: Context) -> list[Path]:
    try:
        names = os.listdir(ctx.paths.tmp)
    except FileNotFoundError:
        return []
    return [ctx.paths.tmp / n for n in sorted(names) if owner_of(n) is not None]


def sweep_dead(ctx: Context) -> list[Path]:
    """Sweep the scratch of every build whose process is gone; returns the dirs swept."""
    swept = []
    for d in scratch_dirs(ctx):
        if not _owner_alive(d.name):
            sweep_dir(ctx, d)
            swept.append(d)
    return swept


def live_run_cids(ctx: Context) -> set[str]:
    """Containers that running builds' RUN steps use now (their sandboxes are not leftovers)."""
    out = set()
    for d in scratch_dirs(ctx):
        if _owner_alive(d.name):
            out |= {rec["cid"] for rec in _records(d)}
    return out


def sweep_dir(ctx: Context, d: Path) -> None:
    """Kill the RUN containers recorded in scratch dir d, unmount what is mounted under it,
    release their network sandboxes, then remove it. Each step is idempotent."""
    with file_lock(ctx.paths.locks / f"{d.name}.lock") as lock:
        if d.exists():
            records = _records(d)
            for rec in records:
                _stop_container(ctx, rec)
            _unmount_under(d)
            for rec in records:
                if rec.get("network"):
                    _release_network(ctx, rec["cid"])
            shutil.rmtree(d, ignore_errors=True)
        lock.discard()


def _records(d: Path) -> list[dict]:
    out = []
    for p in sorted(d.glob(f"{_RUN}*.json")):
        try:
            rec = json.loads(p.read_bytes())
        except (OSError, ValueError):
            continue  # half written: nothing was made for it yet
        if isinstance(rec, dict) and isinstance(rec.get("cid"), str):
            out.append(rec)
    return out


def _stop_container(ctx: Context, rec: dict) -> None:
    from sampan.runtime.base import cgroups_path
    from sampan.runtime.factory import get_runtime
    from sampan.runtime.cgroups import open_cgroup

    name = rec.get("runtime") or "native"
    try:
        get_runtime(name, ctx.paths.runtime_state / name).delete(rec["cid"], force=True)
    except SampanError:
        pass  # never made, or gone already
    try:
        open_cgroup(cgroups_path(rec["cid"])).remove()  # made before the runtime saved its state
    except SampanError:
        pass


def _mounts_under(d: Path) -> list[str]:
    prefix = str(d) + "/"
    with open("/proc/self/mountinfo") as f:
        return [mp for mp in (line.split()[4] for line in f) if mp.startswith(prefix)]


def _unmount_under(d: Path) -> None:
    from sampan.engine import overlay

    for mp in sorted(_mounts_under(d), key=len, reverse=True):
        overlay.unmount(Path(mp))


def _release_network(ctx: Context, cid: str) -> None:
    from sampan.engine.networking import nm

    manager = nm(ctx)
    if manager.store.attachment_rows("cid=?", (cid,)):
        manager.release(cid, manager.netns_of(cid) or manager.netns_path(cid), background=False)
    else:  # killed before its attachment was recorded (or never attached at all)
        manager.release_unrecorded(cid)
