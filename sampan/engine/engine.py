"""The engine facade: the only thing cli/ and server/ talk to. Options in, reports out.

Verbs by subject, each in its own module (a newcomer finds `rmi` in images_api.py):
    engine.containers  containers_api.py  ps, inspect, port, rm of many, prune
    engine.images      images_api.py      images, inspect, history, tag, rmi, prune, import,
                                          pull, push, save, load
    engine.volumes     volumes_api.py     volume create, ls, inspect, rm, prune
    engine.networks    networks_api.py    network create, ls, inspect, rm, prune, connect, ...
    engine.system      system_api.py      info, df, prune, check
One container's life (create, run, start, stop, kill, exec, logs, pause, stats, ...) and the
event journal (events) are Engine's own methods below. Options are engine/options.py, reports engine/reports.py; `ctx` and the
stores behind it are the engine's own, never a front end's (tests/unit/engine/test_facade.py).
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Iterator

from sampan.engine import lifecycle
from sampan.engine.context import Context
from sampan.engine.records import ContainerRecord
from sampan.engine.status import status_of
from sampan.errors import ContainerNotFound, InvalidState, SampanError
from sampan.state.paths import Paths

if TYPE_CHECKING:
    from sampan.engine.options import ExecOptions, RunOptions, UpdateOptions

# Verbs import their modules when called: `run` should not pay for `logs` or `inspect`.


_STOPPED = "You cannot attach to a stopped container, start it first"  # Docker's words


class Engine:
    def __init__(self, root: str | None = None, runroot: str | None = None, runtime: str | None = None):
        self.ctx = Context(Paths.from_env(root, runroot), runtime)

    @staticmethod
    def warm() -> None:
        """Import every verb's modules now. A long-lived front end (the API service forks a
        child per call) pays once; its children then start with them loaded."""
        import sampan.engine.containers_api  # noqa: F401
        import sampan.engine.create  # noqa: F401
        import sampan.engine.events_read  # noqa: F401
        import sampan.engine.execute  # noqa: F401
        import sampan.engine.images_api  # noqa: F401
        import sampan.engine.lifecycle  # noqa: F401
        import sampan.engine.logs  # noqa: F401
        import sampan.engine.networks_api  # noqa: F401
        import sampan.engine.pause  # noqa: F401
        import sampan.engine.stats  # noqa: F401
        import sampan.engine.system_api  # noqa: F401
        import sampan.engine.views  # noqa: F401
        import sampan.engine.volumes_api  # noqa: F401
        import sampan.registry.pull  # noqa: F401  (without httpx: a re-pull of a known image stays ~10 ms)

    # ---- subjects: each imported on first use, so `run` pays for none of them ----
    @cached_property
    def containers(self):
        from sampan.engine.containers_api import ContainersAPI
        return ContainersAPI(self.ctx)

    @cached_property
    def images(self):
        from sampan.engine.images_api import ImagesAPI
        return ImagesAPI(self.ctx)

    @cached_property
    def volumes(self):
        from sampan.engine.volumes_api import VolumesAPI
        return VolumesAPI(self.ctx)

    @cached_property
    def networks(self):
        from sampan.engine.networks_api import NetworksAPI
        return NetworksAPI(self.ctx)

    @cached_property
    def system(self):
        from sampan.engine.system_api import SystemAPI
        return SystemAPI(self)

    # ---- containers ----
    def container(self, ref: str) -> ContainerRecord:
        """The container as it is now: one whose monitor died is stopped and recorded first."""
        from sampan.engine.monitor_lost import found
        return found(self.ctx, ref)

    def monitor_lost(self, cid: str) -> str | int:
        """An attached client lost the container's monitor without being told the exit:
        settle the container (see monitor_lost.py). Its exit code when its monitor recorded
        the exit (the client came too late to be told: the stream just ends, as Docker's,
        and the code is the wait's), else the line to tell the user."""
        import time

        from sampan.engine import procs
        from sampan.engine.monitor_lost import MONITOR_DIED, noticed
        rec = self.ctx.containers.get(cid)
        deadline = time.monotonic() + 2
        while rec and procs.alive(rec.monitor_pid, rec.monitor_start) and time.monotonic() < deadline:
            time.sleep(0.01)  # its sockets close while it exits, before /proc says it is gone
        cur = rec and noticed(self.ctx, rec)
        if cur is None and rec is not None and not rec.config.get("auto_remove"):
            return f"container {rec.name}: {MONITOR_DIED}"
        if cur is None:  # gone: --rm kept the code its monitor (or a settle) recorded
            code = self.ctx.containers.exit_code_of_removed(cid)
            return code if code is not None else f"container {cid[:12]}: {MONITOR_DIED}"
        if cur.error == MONITOR_DIED:
            return f"container {cur.name}: {MONITOR_DIED}"
        if not status_of(cur).running:
            return cur.exit_code
        return "lost the connection to the container's monitor"

    def create(self, opts: RunOptions) -> ContainerRecord:
        from sampan.engine.create import create_container
        from sampan.engine.events import container_event
        rec = create_container(self.ctx, opts)
        container_event(self.ctx, rec, "create")
        return rec

    def run(self, opts: RunOptions, *, detach: bool) -> tuple[ContainerRecord, lifecycle.Started]:
        """create + start. A container that fails to start is removed: no half-made leftovers."""
        rec = self.create(opts)
        try:
            started = lifecycle.start(self.ctx, rec, attach_client=not detach)
        except BaseException:
            try:
                cur = self.ctx.containers.get(rec.id)
                if cur is not None:
                    lifecycle.remove(self.ctx, cur, force=True, volumes=True)
            except SampanError:
                pass
            raise
        return rec, started

    def start(self, ref: str, *, attach: bool = False, interactive: bool = False) -> lifecycle.Started:
        rec = self.container(ref)
        return lifecycle.start(self.ctx, rec, attach_client=attach,
                               open_stdin=interactive or rec.config["open_stdin"])

    def attach(self, ref: str, *, running_only: bool = False):
        """Attach to a container's stdio: an attach_wait.StdioAttachment whose link() is the
        monitor's connection (attach.py frames), now if it runs, else from its next start on
        (whoever starts it: the monitor connects to every attach that waits).
        running_only: `sampan attach`, which as Docker's refuses a stopped or paused one."""
        from sampan.engine.attach_wait import StdioAttachment
        rec = self.container(ref)
        if running_only:
            st = status_of(rec)
            if st.paused:
                raise InvalidState("You cannot attach to a paused container, unpause it first", exit_code=1)
            if not st.running:
                raise InvalidState(_STOPPED, exit_code=1)
        att = StdioAttachment(self.ctx, rec)
        if running_only and att.waiter is not None:
            # Its socket is gone: its monitor recorded the exit (then unlinked it) as we came.
            cur = self.ctx.containers.get(rec.id)
            if cur is None or not status_of(cur).running:
                att.close()
                raise InvalidState(_STOPPED, exit_code=1)
        return att

    def resize(self, ref: str, rows: int, cols: int) -> None:
        """Set the size of a running container's terminal (its monitor owns the pty)."""
        import socket

        from sampan.engine import attach
        rec = self.container(ref)
        if not status_of(rec).running:
            raise InvalidState(f"container {rec.name} is not running")
        if not rec.config.get("tty"):
            return  # as Docker: nothing to resize
        try:
            conn = attach.connect(self.ctx.attach_socket(rec.id))
        except OSError:
            raise InvalidState(f"container {rec.name} is not running") from None
        with conn:
            conn.sendall(attach.encode(attach.RESIZE, attach.resize_payload(rows, cols)))
            # Wait until the monitor has read it: a connection closed before the monitor
            # accepts it reaches it empty (a monitor just started is still booting).
            conn.shutdown(socket.SHUT_WR)
            conn.settimeout(2)
            try:
                while conn.recv(65536):
                    pass  # output the monitor sends every client meanwhile
            except OSError:
                pass

    def stop(self, ref: str, timeout: int | None = None) -> str | None:
        return lifecycle.stop(self.ctx, self.container(ref), timeout)

    def kill(self, ref: str, signal: str = "SIGKILL") -> None:
        lifecycle.kill(self.ctx, self.container(ref), signal)

    def restart(self, ref: str, timeout: int | None = None) -> str | None:
        rec = self.container(ref)
        note = lifecycle.stop(self.ctx, rec, timeout)
        rec = self.container(rec.id)
        lifecycle.start(self.ctx, rec)  # as Docker's: RestartCount begins again at 0
        from sampan.engine.events import container_event
        container_event(self.ctx, rec, "restart")
        return note

    def update(self, ref: str, restart: str | dict | None = None, limits: UpdateOptions | None = None) -> None:
        """Change a container's restart policy (the --restart spec, or Docker's RestartPolicy)
        and resource limits, running or not: a running one's cgroup gets the new limits at
        once, its next exit follows the new policy. Limits are checked before anything changes."""
        rec = self.container(ref)
        if limits is not None:
            from sampan.engine.update_limits import changed_limits, update_limits
            changed_limits(rec.config, limits)  # a bad value refuses the whole update
        if restart is not None:
            from sampan.engine.restart import set_policy
            set_policy(self.ctx, rec, restart)
        if limits is not None:
            update_limits(self.ctx, rec, limits)

    def pause(self, ref: str) -> None:
        """Freeze every process of the container (v1 freezer, v2 cgroup.freeze)."""
        from sampan.engine.pause import pause
        pause(self.ctx, self.container(ref))

    def unpause(self, ref: str) -> None:
        from sampan.engine.pause import unpause
        unpause(self.ctx, self.container(ref))

    def stats(self, ref: str, previous: dict | None = None) -> dict:
        """One sample of Docker's stats JSON for the container; precpu_stats and preread
        from `previous`, the caller's last sample of it (zeros without one)."""
        from sampan.engine.stats import sample
        return sample(self.ctx, self.container(ref), previous)

    def events(self, since: str | float | None = None, until: str | float | None = None,
               filters=None, follow: bool = True, gone=lambda: False) -> Iterator[dict]:
        """Docker event JSON from the journal: since/until as `docker events` takes them
        (Unix time, RFC 3339, or a duration before now); filters as a list of KEY=VALUE or
        Docker's map. Checks its arguments before it returns the iterator."""
        import time

        from sampan.engine.events_read import Matcher, parse_timestamp, read
        now = time.time()
        s = since if isinstance(since, (int, float)) or since is None else parse_timestamp(since, now)
        u = until if isinstance(until, (int, float)) or until is None else parse_timestamp(until, now)
        Matcher(filters)  # a bad filter is an error now, not at the first event
        return read(self.ctx.paths.runroot, s, u, filters, follow=follow, gone=gone)

    def wait(self, ref: str) -> int:
        # not self.container(): wait settles a lost monitor itself and reads the exit code
        # that --rm keeps
        try:
            rec = self.ctx.containers.find(ref)
        except ContainerNotFound:
            code = self.ctx.containers.exit_code_of_removed(ref)  # --rm, gone before we looked
            if code is None:
                raise
            return code
        return lifecycle.wait(self.ctx, rec)

    def remove(self, ref: str, force: bool = False, volumes: bool = False) -> str:
        from sampan.engine.monitor_lost import noticed
        found = self.ctx.containers.find(ref)
        rec = noticed(self.ctx, found)
        if rec is None:
            return found.id  # its monitor died and --rm removed it: as asked
        lifecycle.remove(self.ctx, rec, force=force, volumes=volumes)
        return rec.id

    def log_path(self, ref: str) -> tuple[ContainerRecord, Path]:
        rec = self.container(ref)
        if rec.config.get("log_driver") == "none":  # Docker's words; its CLI exits 1
            from sampan.errors import InvalidArgument
            raise InvalidArgument("configured logging driver does not support reading", exit_code=1)
        return rec, self.ctx.container_files(rec.id)["log"]

    def logs(self, ref: str, tail: int | None = None, follow: bool = False,
             since: str | None = None, until: str | None = None, details: bool = False) -> Iterator[dict]:
        """The container's log records. What is written already is read at once (an API
        client may remove the container right after it asked, as docker-py's run does);
        with follow, then what comes until it stops running (or `until` passes). since and
        until: Docker's forms (Unix time, RFC 3339, a duration before now such as 1h30m);
        as Docker, tail counts the lines before they are cut to that window. details: each
        text after its attributes (Docker's --details)."""
        from sampan.engine import logs
        lo, hi, until_t = logs.window(since, until)
        rec, path = self.log_path(ref)

        def running() -> bool:
            import time
            if until_t is not None and time.time() > until_t:
                return False
            from sampan.engine.monitor_lost import noticed
            cur = self.ctx.containers.get(rec.id)
            cur = cur and noticed(self.ctx, cur)
            return cur is not None and status_of(cur).running

        if follow and not path.exists():
            # the monitor makes the log once the container runs: a follower may come first
            import time
            while not path.exists() and running():
                time.sleep(0.02)
        records = logs.read_records(path, tail=tail) if path.exists() else []
        if lo is not None or hi is not None:
            records = [r for r in records if logs.in_window(r, lo, hi)]
        if not follow:
            return logs.with_details(records) if details else iter(records)

        def then_follow() -> Iterator[dict]:
            yield from records
            try:
                for r in logs.follow_records(path, running):
                    if hi is not None and r.get("time", "") > hi:
                        return
                    yield r
            except FileNotFoundError:
                return  # removed meanwhile (--rm): nothing more will come
        return logs.with_details(then_follow()) if details else then_follow()

    def exec(self, opts: ExecOptions, stdio_fds: tuple = (0, 1, 2)):
        """Start a process in a running container. Returns an ExecHandle (pid, pty_master, wait())."""
        from sampan.engine.execute import run_exec
        rec = self.container(opts.container)
        if status_of(rec).paused:
            raise InvalidState(f"container {rec.name} is paused: `sampan unpause {rec.name}` first")
        return run_exec(self.ctx, rec, opts, stdio_fds)

    def top(self, ref: str) -> list[dict]:
        from sampan.engine.procs import children_tree
        rec = self.container(ref)
        if not status_of(rec).running:
            raise InvalidState(f"container {rec.name} is not running")
        rows = []
        for pid in children_tree(rec.pid):
            try:
                st = os.stat(f"/proc/{pid}")
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rfind(")") + 2:].split()
            rows.append({"UID": st.st_uid, "PID": pid, "PPID": int(fields[1]), "CMD": cmd})
        return rows

    def diff(self, ref: str) -> list[tuple[str, str]]:
        from sampan.engine.inspect_fs import diff
        return diff(self.ctx, self.container(ref))

    def export(self, ref: str, out: BinaryIO) -> None:
        from sampan.engine.inspect_fs import export
        rec = self.container(ref)
        with self.ctx.container_lock(rec.id):
            export(self.ctx, rec, out)

    def copy_from_container(self, ref: str, src: str, dst: str | BinaryIO, follow_link: bool = False,
                            archive: bool = False) -> None:
        """`cp CONTAINER:SRC DST`: to a local path, or as a tar stream into `dst`."""
        from sampan.engine.cp import copy_from
        copy_from(self.ctx, self.container(ref), ref, src, dst, follow_link, archive)

    def copy_to_container(self, ref: str, src: str | BinaryIO, dst: str, follow_link: bool = False,
                          archive: bool = False) -> None:
        """`cp SRC CONTAINER:DST`: a local path, or a tar stream read from `src`."""
        from sampan.engine.cp import copy_to
        copy_to(self.ctx, self.container(ref), ref, src, dst, follow_link, archive)

    def stat_path(self, ref: str, path: str) -> dict:
        """A path in the container, as Docker's archive endpoints report it (ContainerPathStat)."""
        from sampan.engine.path_stat import stat_path
        return stat_path(self.ctx, self.container(ref), path)

    def rename(self, ref: str, new_name: str) -> None:
        from sampan.engine.rename import rename
        rename(self.ctx, self.container(ref), new_name)

    def commit(self, ref: str, repo: str | None, changes: list[str], message: str | None,
               author: str | None) -> str:
        from sampan.engine.commit import commit
        return commit(self.ctx, self.container(ref), repo, changes, message, author)

    # ---- images: build (the rest is engine.images) and registry logins ----
    def build(self, options, progress_mode: str = "auto", stream=None, pull: str = "missing",
              auths: dict | None = None, on_event=None, output: tuple[str, str] | None = None,
              output_stream=None):
        """Build an image (sampan.build.executor.BuildOptions) with RUN steps as containers.
        ``auths``: {registry: (user, password)} to pull base images with, this build only;
        ``on_event``: typed BuildEvents (engine.reports) instead of the text views;
        ``output``: ("local", DIR) or ("tar", FILE) also gets the image's filesystem (a tar
        to ``output_stream`` when given)."""
        from sampan.build.executor import build
        from sampan.build.progress import Progress, make_progress
        from sampan.engine.build_backend import EngineBuildBackend

        from sampan.engine.build_scratch import sweep_dead
        sweep_dead(self.ctx)  # what killed builds left: containers, mounts, sandboxes, dirs
        backend = EngineBuildBackend(self.ctx, pull=pull, auths=auths)
        if on_event is not None and progress_mode != "quiet":
            from sampan.engine.build_events import EventProgress
            progress: Progress = EventProgress(on_event)
        else:
            progress = make_progress(progress_mode, stream)
        try:
            result = build(backend, self.ctx.db, options, progress)
            if output is not None:
                from sampan.engine.build_output import export_layers
                export_layers(backend, result.image.layers, output[0], output[1], output_stream)
            return result
        finally:
            try:
                backend.close()
            finally:
                close = getattr(progress, "close", None)
                if close:
                    close()

    def build_prune(self, opts=None):
        """`builder prune`: forget the build cache's steps and remove RUN --mount=type=cache
        directories (those unused since until=, when given); a PruneReport of their ids."""
        from sampan.engine.build_prune import build_prune
        return build_prune(self.ctx, opts)

    def build_archive(self, tar_path: str, opts, on_event) -> tuple[str, list[str]]:
        """Build from a context tar (engine.options.ArchiveBuildOptions; the API's POST /build);
        `on_event(BuildEvent)` gets the progress. Returns (image id, tags)."""
        from sampan.engine.build_archive import build_archive
        return build_archive(self, tar_path, opts, on_event)

    def spool_dir(self) -> str:
        """Where a front end may spool a client's upload (a build context, an image archive)
        before handing it to a verb: under the root, on disk (the run root is often a tmpfs,
        and a context can be gigabytes), made on first use."""
        path = self.ctx.paths.root / "api-spool"
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        return str(path)

    def check_login(self, registry: str | None, username: str, password: str,
                    tls_verify: bool | None = None) -> str:
        """Only check the credentials with the registry (kept nowhere); its domain."""
        from sampan.registry import check_login
        return check_login(registry, username, password, tls_verify)

    def login(self, registry: str | None, username: str, password: str, tls_verify: bool | None = None):
        from sampan.registry.login import login
        return login(registry, username, password, tls_verify)

    def logout(self, registry: str | None) -> bool:
        from sampan.registry import logout
        return logout(registry)
