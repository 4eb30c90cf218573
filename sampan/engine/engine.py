"""The engine facade: the only thing cli/ and server/ talk to. Options in, reports out."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Iterator

from sampan.engine import lifecycle
from sampan.engine.context import Context
from sampan.engine.records import ContainerRecord
from sampan.engine.status import RUNNING, status_of
from sampan.errors import Conflict, InvalidArgument, InvalidState, SampanError
from sampan.state.paths import Paths

if TYPE_CHECKING:
    from sampan.engine.options import ExecOptions, RunOptions

# Verbs import their modules when called: `run` should not pay for `logs` or `inspect`.


class Engine:
    def __init__(self, root: str | None = None, runroot: str | None = None, runtime: str | None = None):
        self.ctx = Context(Paths.from_env(root, runroot), runtime)

    # ---- containers ----
    def container(self, ref: str) -> ContainerRecord:
        return self.ctx.containers.find(ref)

    def create(self, opts: RunOptions) -> ContainerRecord:
        from sampan.engine.create import create_container
        return create_container(self.ctx, opts)

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

    def stop(self, ref: str, timeout: int | None = None) -> str | None:
        return lifecycle.stop(self.ctx, self.container(ref), timeout)

    def kill(self, ref: str, signal: str = "SIGKILL") -> None:
        lifecycle.kill(self.ctx, self.container(ref), signal)

    def restart(self, ref: str, timeout: int | None = None) -> str | None:
        rec = self.container(ref)
        note = lifecycle.stop(self.ctx, rec, timeout)
        rec = self.container(rec.id)
        self.ctx.containers.update(rec.id, restart_count=rec.restart_count + 1)
        lifecycle.start(self.ctx, rec)
        return note

    def wait(self, ref: str) -> int:
        return lifecycle.wait(self.ctx, self.container(ref))

    def remove(self, ref: str, force: bool = False, volumes: bool = False) -> str:
        rec = self.container(ref)
        lifecycle.remove(self.ctx, rec, force=force, volumes=volumes)
        return rec.id

    def list_containers(self, all: bool = False, filters: list[str] | None = None) -> list[dict]:
        want = _parse_filters(filters or [])
        rows = []
        for rec in self.ctx.containers.all():
            st = status_of(rec)
            if not all and st.state != RUNNING and "status" not in want:
                continue
            if "status" in want and st.state not in want["status"]:
                continue
            if "name" in want and not any(n in rec.name for n in want["name"]):
                continue
            if "id" in want and not any(rec.id.startswith(i) for i in want["id"]):
                continue
            if "label" in want and not all(_label_match(rec.config.get("labels", {}), lb) for lb in want["label"]):
                continue
            if "exited" in want and not (st.state == "exited" and str(st.exit_code) in want["exited"]):
                continue
            from sampan.engine import views
            rows.append(views.ps_row(rec, st))
        return rows

    def inspect_container(self, ref: str) -> dict:
        from sampan.engine import views
        return views.inspect_container(self.ctx, self.container(ref))

    def log_path(self, ref: str) -> tuple[ContainerRecord, Path]:
        rec = self.container(ref)
        return rec, self.ctx.container_files(rec.id)["log"]

    def logs(self, ref: str, tail: int | None = None, follow: bool = False) -> Iterator[dict]:
        from sampan.engine import logs
        rec, path = self.log_path(ref)
        if not path.exists() and not follow:
            return iter(())
        yield from logs.read_records(path, tail=tail)
        if follow and path.exists():
            def running() -> bool:
                cur = self.ctx.containers.get(rec.id)
                return cur is not None and status_of(cur).state == RUNNING
            yield from logs.follow_records(path, running)

    def exec(self, opts: ExecOptions, stdio_fds: tuple = (0, 1, 2)):
        """Start a process in a running container. Returns an ExecHandle (pid, pty_master, wait())."""
        from sampan.engine.execute import run_exec
        return run_exec(self.ctx, self.container(opts.container), opts, stdio_fds)

    def top(self, ref: str) -> list[dict]:
        from sampan.engine.procs import children_tree
        rec = self.container(ref)
        if status_of(rec).state != RUNNING:
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

    def commit(self, ref: str, repo: str | None, changes: list[str], message: str | None,
               author: str | None) -> str:
        from sampan.engine.commit import commit
        return commit(self.ctx, self.container(ref), repo, changes, message, author)

    def reconcile(self) -> list[str]:
        """Release what crashed processes left: network sandboxes (veths, rules, netns) of
        containers that no longer run. `system prune` calls it; a container's own next
        start or `rm -f` also finishes its leftovers."""
        def alive(cid: str) -> bool:
            rec = self.ctx.containers.get(cid)
            if rec is None:
                return False
            st = status_of(rec)
            return st.state == RUNNING or st.monitor_alive
        return self.networks().reconcile(alive)

    def prune_containers(self) -> list[str]:
        removed = []
        for rec in self.ctx.containers.all():
            st = status_of(rec)
            if st.state != RUNNING and not st.monitor_alive:
                lifecycle.remove(self.ctx, rec)
                removed.append(rec.id)
        return removed

    # ---- images ----
    @property
    def images(self):
        return self.ctx.images

    def import_image(self, fileobj: BinaryIO, ref: str | None, changes: list[str], message: str | None):
        return self.ctx.images.import_rootfs(fileobj, ref, changes, message)

    def image_users(self, image_id: str) -> list[ContainerRecord]:
        return [r for r in self.ctx.containers.all() if r.image_id == image_id]

    def remove_image(self, ref: str, force: bool = False) -> list[str]:
        """Docker's rmi, except that -f never pulls an image from under a container: it untags."""
        image = self.ctx.images.resolve(ref)
        users = self.image_users(image.id)
        if users:
            tags = list(image.repo_tags or [])
            by_tag = [t for t in tags if _same_ref(ref, t)]
            if by_tag and len(tags) > 1:
                return self.ctx.images.remove(ref)  # only untags: other tags remain
            if not force:
                names = ", ".join(u.name for u in users[:3])
                raise Conflict(f"image {ref} is used by container {names}: remove the container first, "
                               f"or `rmi -f` to untag it (the image stays while a container uses it)")
            lines = []
            for t in by_tag or tags:
                self.ctx.images.untag(t)
                lines.append(f"Untagged: {t}")
            return lines
        return self.ctx.images.remove(ref, force=force)

    def prune_images(self, all: bool = False) -> list[str]:
        used = {r.image_id for r in self.ctx.containers.all()}
        lines = []
        for img in self.ctx.images.list_images(all=True):
            if img.id in used:
                continue
            if img.repo_tags and not all:
                continue
            lines += self.ctx.images.remove(img.id, force=True)
        return lines

    def pull(self, ref: str, platform: str | None = None, tls_verify: bool | None = None,
             quiet: bool = False):
        from sampan.registry import pull
        return pull(self.ctx.images, ref, platform=platform, tls_verify=tls_verify,
                    progress=False if quiet else None)

    def push(self, local: str, dest: str | None = None, tls_verify: bool | None = None,
             quiet: bool = False) -> str:
        from sampan.registry import push
        return push(self.ctx.images, local, dest, tls_verify=tls_verify, progress=False if quiet else None)

    def login(self, registry: str | None, username: str, password: str, tls_verify: bool | None = None):
        from sampan.registry import login
        return login(registry, username, password, tls_verify)

    def logout(self, registry: str | None) -> bool:
        from sampan.registry import logout
        return logout(registry)

    def save(self, refs: list[str], out: BinaryIO, format: str = "docker") -> None:
        from sampan.archive import save
        save(self.ctx.images, refs, out, format)

    def load(self, fileobj: BinaryIO) -> list[str]:
        from sampan.archive import load
        return load(self.ctx.images, fileobj)

    def build(self, options, progress_mode: str = "auto", stream=None, pull: str = "missing"):
        """Build an image (sampan.build.executor.BuildOptions) with RUN steps as containers."""
        from sampan.build.executor import build
        from sampan.build.progress import make_progress
        from sampan.engine.build_backend import EngineBuildBackend

        backend = EngineBuildBackend(self.ctx, pull=pull)
        progress = make_progress(progress_mode, stream)
        try:
            return build(backend, self.ctx.db, options, progress)
        finally:
            close = getattr(progress, "close", None)
            if close:
                close()

    # ---- networks ----
    def networks(self):
        from sampan.engine.networking import nm
        return nm(self.ctx)

    def network_users(self, name: str) -> list[str]:
        info = self.networks().inspect(name)
        names = {info.name, info.id}
        return [r.name for r in self.ctx.containers.all() if r.config.get("network") in names
                or (info.name == "bridge" and r.config.get("network") == "bridge")]

    def network_remove(self, name: str) -> str:
        users = self.network_users(name)
        if users:
            raise Conflict(f"network {name} is used by container {', '.join(users[:3])}: remove "
                           f"or disconnect them first")
        info = self.networks().inspect(name)
        self.networks().remove(name)
        return info.name

    def network_prune(self) -> list[str]:
        used = {r.config.get("network") for r in self.ctx.containers.all()}
        removed = []
        for info in self.networks().list():
            if info.name == "bridge" or info.name in used:
                continue
            try:
                self.networks().remove(info.name)
                removed.append(info.name)
            except SampanError:
                pass
        return removed

    def network_connect(self, network: str, ref: str, aliases: list[str]) -> None:
        rec = self.container(ref)
        if status_of(rec).state != RUNNING:
            raise InvalidState(f"container {rec.name} is not running: networks are connected to running containers")
        manager = self.networks()
        netns = manager.netns_of(rec.id)
        if netns is None:
            raise InvalidState(f"container {rec.name} has no network namespace of its own "
                               f"(--network {rec.config.get('network')})")
        files = self.ctx.container_files(rec.id)
        names = [rec.name] + [a for a in aliases if a != rec.name]  # peers find it by name too
        manager.attach(rec.id, netns, network, (), names, rec.config["hostname"], hosts_path=files["hosts"])

    def network_disconnect(self, network: str, ref: str) -> None:
        rec = self.container(ref)
        manager = self.networks()
        info = manager.inspect(network)
        netns = manager.netns_of(rec.id)
        if netns is None or not any(a.network == info.name for a in manager.attachments(rec.id)):
            raise InvalidState(f"container {rec.name} is not connected to network {network}")
        manager.detach(rec.id, netns, info.name)

    def ports(self, ref: str) -> list[str]:
        from sampan.engine.networking import port_lines
        rec = self.container(ref)
        return port_lines(self.ctx, rec) if status_of(rec).state == RUNNING else []

    # ---- volumes ----
    def volume_users(self, name: str) -> list[str]:
        return [r.name for r in self.ctx.containers.all()
                if any(m["kind"] == "volume" and m["source"] == name for m in r.config["mounts"])]

    def remove_volume(self, name: str, force: bool = False) -> None:
        self.ctx.volumes.remove(name, self.volume_users(name))

    def prune_volumes(self, all: bool = False) -> list[str]:
        in_use = {m["source"] for r in self.ctx.containers.all() for m in r.config["mounts"]
                  if m["kind"] == "volume"}
        return self.ctx.volumes.prune(in_use, all_volumes=all)

    # ---- system ----
    def info(self) -> dict:
        from sampan.engine.system import info
        return info(self)

    def disk_usage(self) -> dict:
        from sampan.engine.system import disk_usage
        return disk_usage(self)

    def check(self) -> list:
        """`system check`: read-only findings (store.verify.Finding) about this root."""
        from sampan.engine.check import check_root
        return check_root(self.ctx.paths)


def _same_ref(a: str, b: str) -> bool:
    from sampan.oci.reference import parse_reference
    try:
        return str(parse_reference(a)) == str(parse_reference(b))
    except SampanError:
        return False


def _parse_filters(filters: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for f in filters:
        key, sep, value = f.partition("=")
        if not sep or key not in ("status", "name", "id", "label", "exited"):
            raise InvalidArgument(f"invalid filter {f!r}: use status=, name=, id=, label= or exited=")
        if key == "status" and value not in ("created", "running", "exited", "paused", "restarting",
                                             "removing", "dead"):
            raise InvalidArgument(f"invalid filter {f!r}: status is one of created, running, exited, ...")
        out.setdefault(key, []).append(value)
    return out


def _label_match(labels: dict, want: str) -> bool:
    k, sep, v = want.partition("=")
    return k in labels and (not sep or labels[k] == v)
