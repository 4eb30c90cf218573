"""What happens around a container's run: mount before it starts, clean after it stops.

Both are idempotent so a monitor, `rm -f`, or a later start can each finish a
cleanup that a killed process left half done.
"""

from __future__ import annotations

import os
from contextlib import contextmanager

from sampan.engine import overlay
from sampan.engine.context import Context
from sampan.engine.records import ContainerRecord, now_rfc3339
from sampan.errors import ContainerNotFound
from sampan.runtime.base import cgroups_path
from sampan.state import explain

from typing import TYPE_CHECKING  # typing is loaded on every path that imports this
if TYPE_CHECKING:
    from typing import Iterator


def prepare_start(ctx: Context, rec: ContainerRecord, network: bool = True):
    """Mount the root filesystem and (with network) make the network sandbox and write
    the OCI bundle. Returns the Sandbox, whose host-port sockets the monitor keeps open;
    rec.config is updated with the network's answers."""
    mount_rootfs(ctx, rec)
    (ctx.paths.runroot / "a").mkdir(0o700, parents=True, exist_ok=True)  # attach sockets
    if not network:
        return None
    from sampan.engine import networking
    from sampan.engine.bundle import write_bundle, write_etc_files

    # The bundle and /etc files are written without fsync (see atomic_write_bytes):
    # they are made again here, at every start, from the database.
    linked = None
    if rec.config.get("links") or rec.config.get("net_links"):  # each linked container must run now
        from sampan.engine import links
        linked = links.targets(ctx, rec)
    write_etc_files(ctx.container_files(rec.id), rec.config,
                    more_hosts=links.hosts_lines(linked) if linked else "")
    if rec.config.get("ipc_mode") == "shareable":
        _mount_shareable_shm(ctx, rec)
    sandbox = networking.connect(ctx, rec)
    if sandbox.config is not None:
        rec.config = sandbox.config  # the address it got, as connect() wrote it down
    if linked:  # variables for the default bridge's links only (links.env), as Docker
        rec.config = {**rec.config, "link_env": links.env(rec, linked)}  # for the bundle only
    write_bundle(ctx, rec, sandbox.netns)
    return sandbox


def _mount_shareable_shm(ctx: Context, rec: ContainerRecord) -> None:
    """--ipc shareable: the container's /dev/shm is a tmpfs held on the host (Docker's
    ShmPath), so that a container started with --ipc container:NAME can bind it too."""
    shm = ctx.container_files(rec.id)["dir"] / "shm"
    if overlay.is_mounted(shm):
        return
    shm.mkdir(0o700, exist_ok=True)
    from sampan.engine.create_flags import DEFAULT_SHM
    from sampan.runtime.syscalls import Syscalls
    size = rec.config.get("shm_size") or DEFAULT_SHM
    Syscalls().mount("shm", str(shm), "tmpfs", 0x2 | 0x4 | 0x8, f"mode=1777,size={size}")  # nosuid nodev noexec


def mount_rootfs(ctx: Context, rec: ContainerRecord) -> None:
    files = ctx.container_files(rec.id)
    if not overlay.is_mounted(files["rootfs"]):
        image = ctx.images.resolve(rec.image_id)
        lowers = [files["init"]] + ctx.images.layer_dirs(image)
        # A fresh work dir each start: overlay refuses a work dir left by a crash.
        if files["work"].exists() and any(files["work"].iterdir()):
            import shutil  # lazily: shutil pulls in bz2 and lzma
            shutil.rmtree(files["work"], ignore_errors=True)
        overlay.mount_overlay(lowers, files["upper"], files["work"], files["rootfs"])
        if explain.on():
            from sampan.engine import explain_steps
            explain_steps.overlay(lowers, files["upper"], files["rootfs"])
        _copy_up_new_volumes(ctx, rec, files["rootfs"])


def make_init_layer(init) -> None:
    """Docker's init layer: the mount points the runtime needs (/etc/hosts, /proc, ...),
    as a lower layer of their own, so they never show in the container's diff or commit."""
    for d in ("dev", "proc", "sys", "etc"):
        (init / d).mkdir(parents=True, exist_ok=True)
    for f in ("etc/hosts", "etc/hostname", "etc/resolv.conf"):
        (init / f).touch()


def _copy_up_new_volumes(ctx: Context, rec: ContainerRecord, root) -> None:
    """Docker copies the image's files at a volume's mount point into the volume when the
    volume is empty on first use (unless nocopy). Done once, marked by a file.
    The image decides what is there (links to host paths included) and other containers
    may be writing into the volume: both ends are walked by fd (store/copy_at), the
    mount point resolved inside the container's root, no link followed out of either."""
    for m in rec.config["mounts"]:
        if m["kind"] != "volume" or "nocopy" in m.get("options", []):
            continue
        vol_dir = ctx.paths.volumes / m["source"]
        marker = vol_dir / ".copied"
        if marker.exists():
            continue
        from sampan.errors import UnsafeArchive

        try:
            _copy_up(root, m["destination"], vol_dir / "_data")
        except UnsafeArchive as err:
            raise UnsafeArchive(f"cannot fill volume {m['source']} with the image's "
                                f"{m['destination']}: {err.message}") from None
        marker.touch(0o600)


def _copy_up(root, destination: str, data) -> None:
    from sampan.state import inroot
    from sampan.store.copy_at import copy_tree_at
    from sampan.store.extract_at import ExtractOptions

    rootfd = inroot.open_root(root)
    try:
        try:
            src = inroot.open_in_root(rootfd, destination, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            return  # nothing (or no directory) there in the image: nothing to copy
    finally:
        os.close(rootfd)
    try:
        dfd = os.open(data, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            with os.scandir(dfd) as it:
                if next(it, None) is not None:
                    return  # only an empty volume is filled
            # the image's owners, modes, links and device nodes, as Docker copies them
            copy_tree_at(src, dfd, "/", ExtractOptions(keep_owner=True, allow_whiteout_names=True))
            st = os.fstat(src)
            os.fchown(dfd, st.st_uid, st.st_gid)
            os.fchmod(dfd, st.st_mode & 0o7777)
        finally:
            os.close(dfd)
    finally:
        os.close(src)


def describe_failure(exc: BaseException, ctx: Context | None = None) -> tuple[str, str, int]:
    """(message, error kind, exit code) of a failed start, as the user will be told."""
    from sampan.errors import SampanError
    if isinstance(exc, SampanError):
        return exc.message, type(exc).__name__, exc.exit_code
    if ctx is not None:
        from sampan.state.nospace import no_space
        full = no_space(exc, (ctx.paths.root, ctx.paths.runroot), ctx.paths.db)
        if full is not None:
            return full.message, "NoSpace", full.exit_code
    return f"{type(exc).__name__}: {exc}", "RuntimeFailure", 125


def record_failed_start(ctx: Context, rec: ContainerRecord, exc: BaseException, runtime=None) -> None:
    """A start that failed leaves the container as it was (created or exited) with the
    error written down, and nothing mounted or attached."""
    message, _, exit_code = describe_failure(exc, ctx)
    try:
        ctx.containers.update(rec.id, state="exited" if rec.state != "created" else "created",
                              exit_code=exit_code, error=message, finished_at=now_rfc3339())
    finally:  # a full disk may refuse the record: the mount and the sandbox go all the same
        cleanup_after_exit(ctx, rec, runtime, exit_code)


def cleanup_after_exit(ctx: Context, rec: ContainerRecord, runtime=None, exit_code: int | None = None,
                       explained: bool = True) -> None:
    """Release what a run held. A --rm container goes too, its exit code kept for `wait`
    when known (a start that failed: 127 for a missing command). explained: --explain lines
    for what it releases (`rm` says that itself)."""
    files = ctx.container_files(rec.id)
    runtime = runtime or ctx.runtime_for(rec)
    held = held_by(ctx, rec) if explained and explain.on() else None
    try:
        runtime.delete(rec.id, force=True)
        if explained:
            explain.explain("removed", f"{runtime.name} runtime state and cgroup of {rec.id[:12]} (any process left killed)")
    except ContainerNotFound:
        pass  # the runtime never created it (a start that failed before), or deleted it already
    except Exception as e:  # the rest of the cleanup must still run; the leftover is told
        import sys
        sys.stderr.write(f"sampan: warning: {runtime.name} could not delete container {rec.id[:12]}: {e}\n")
    try:  # made ahead by a start that failed before create()
        runtime.discard_cgroup(cgroups_path(rec.id, rec.config.get("cgroup_parent")))
    except Exception:
        pass
    overlay.unmount(files["rootfs"])
    if rec.config.get("ipc_mode") == "shareable":
        overlay.unmount(files["dir"] / "shm")
    try:
        from sampan.engine import networking
        networking.disconnect(ctx, rec)
    except Exception as e:
        # Reconcile finishes it later. A full disk is no bug: the host's side is released
        # first, only the records are left (and the user is told once, by the caller).
        from sampan.state.nospace import no_space
        if no_space(e, (), ctx.paths.db) is None:
            import traceback
            traceback.print_exc()  # the monitor's log
    try:
        os.unlink(ctx.attach_socket(rec.id))
    except FileNotFoundError:
        pass
    if held is not None:
        from sampan.engine import explain_steps
        explain_steps.released(rec, held, files, bool(rec.config.get("auto_remove")))
    if rec.config.get("auto_remove"):
        remove_files(ctx, rec)
        ctx.containers.delete(rec.id, exit_code=exit_code)
        remove_anonymous_volumes(ctx, rec)


@explain.safe
def held_by(ctx: Context, rec: ContainerRecord) -> tuple[bool, bool]:
    """--explain: (root mounted, network attached) before a cleanup, to say what it removed."""
    from sampan.engine import networking
    files = ctx.container_files(rec.id)
    attached = networking.mode_of(rec.config.get("network", "none")) == "bridge" and bool(
        networking.nm(ctx).attachments(rec.id))
    return overlay.is_mounted(files["rootfs"]), attached


def remove_files(ctx: Context, rec: ContainerRecord) -> None:
    trash = ctx.__dict__.get("_trash")
    if trash is not None:  # a batch: one rename now, the deletion in the background
        try:
            trash.mkdir(exist_ok=True)
            os.rename(ctx.container_files(rec.id)["dir"], trash / rec.id)
            return
        except FileNotFoundError:
            return
        except OSError:
            pass  # (another filesystem?) removed here instead
    import shutil  # lazily: shutil pulls in bz2 and lzma
    shutil.rmtree(ctx.container_files(rec.id)["dir"], ignore_errors=True)


@contextmanager
def batched_file_removal(ctx: Context) -> Iterator[None]:
    """Container dirs that remove_files() removes inside are renamed into one trash dir
    under the store's tmp/ and deleted by one background `rm -rf` at the end (`rm -f` of
    many: ~30 ms of unlink and rmdir each on a busy disk). The trash dir is named for this
    process (store/tempfiles.py), so if that deletion dies, the next store writer's sweep
    removes what is left."""
    from sampan.store.tempfiles import temp_name
    trash = ctx.__dict__["_trash"] = ctx.paths.tmp / temp_name("trash")
    try:
        yield
    finally:
        del ctx.__dict__["_trash"]
        if trash.exists():
            import subprocess
            subprocess.Popen(["rm", "-rf", "--one-file-system", str(trash)], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                             close_fds=True)


def remove_anonymous_volumes(ctx: Context, rec: ContainerRecord) -> None:
    """--rm also removes the container's anonymous volumes (as Docker)."""
    for m in rec.config["mounts"]:
        if m["kind"] != "volume":
            continue
        try:
            vol = ctx.volumes.get(m["source"])
        except Exception:
            continue
        if vol.anonymous:
            users = [r.name for r in ctx.containers.all()
                     if any(x["kind"] == "volume" and x["source"] == vol.name for x in r.config["mounts"])]
            if not users:
                ctx.volumes.remove(vol.name, [])
