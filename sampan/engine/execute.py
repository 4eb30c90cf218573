"""`exec`: run another process inside a running container's namespaces and cgroup."""

from __future__ import annotations

import os

from sampan.engine.context import Context
from sampan.engine.options import ExecOptions
from sampan.engine.records import ContainerRecord
from sampan.engine.status import status_of
from sampan.errors import InvalidArgument, InvalidState
from sampan.specgen.command import merge_env
from sampan.specgen.defaults import default_rlimits
from sampan.specgen.users import resolve_user


def exec_process(ctx: Context, rec: ContainerRecord, opts: ExecOptions) -> dict:
    """The OCI process object for an exec, with Docker's defaults from the container."""
    if not status_of(rec).running:
        raise InvalidState(f"container {rec.name} is not running: `sampan start {rec.name}` first")
    if not opts.argv:
        raise InvalidArgument("exec needs a command to run")
    c = rec.config
    root = ctx.container_files(rec.id)["rootfs"]
    user_spec = opts.user if opts.user is not None else c.get("user") or ""
    eu = resolve_user(root, user_spec)
    env = merge_env(c["image_env"], c["user_env"] + list(opts.env), hostname=c["hostname"],
                    tty=opts.tty, home=eu.home)
    if c.get("links") and c["network"] == "bridge":  # Docker's exec sees the link variables too
        from sampan.engine.links import exec_env
        env = exec_env(ctx, rec, env)
    from sampan.engine.security import caps_of
    caps = caps_of(c)
    user: dict[str, object] = {"uid": eu.uid, "gid": eu.gid}
    if eu.additional_gids:
        user["additionalGids"] = eu.additional_gids
    return {
        "terminal": opts.tty, "user": user, "args": list(opts.argv), "env": env,
        "cwd": opts.workdir or c["workdir"] or "/",
        "capabilities": {"bounding": caps, "effective": caps, "permitted": caps,
                         "inheritable": [], "ambient": []},
        "noNewPrivileges": bool(c.get("no_new_privileges")),
        "rlimits": default_rlimits(),
    }


def exit_code_of(status: int) -> int:
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


class ExecHandle:
    """A process started inside a container; the caller is its parent (or subreaper).
    With -t, pty_master is the terminal's master (the caller proxies it); without -t and -d,
    pipes are the process's stdio, which pump() copies to and from the caller's."""

    def __init__(self, pid: int, pty_master: int | None, pipes=None, stdio_fds: tuple = (0, 1, 2)):
        self.pid, self.pty_master, self.pipes, self.stdio_fds = pid, pty_master, pipes, stdio_fds

    def pump(self) -> int:
        """Copy the process's stdio until it exits; returns its exit code."""
        if self.pipes is None:
            return self.wait()
        from sampan.engine.exec_io import pump
        return exit_code_of(pump(self.pid, self.pipes, *self.stdio_fds))

    def wait(self) -> int:
        while True:
            try:
                _, status = os.waitpid(self.pid, 0)
                return exit_code_of(status)
            except InterruptedError:
                continue
            except ChildProcessError:
                return 0


def run_exec(ctx: Context, rec: ContainerRecord, opts: ExecOptions, stdio_fds: tuple) -> ExecHandle:
    """Start the process. The caller's stdio_fds are never handed to it (exec_io.py): with
    -t it gets a pty made for it, with -d /dev/null, else pipes that ExecHandle.pump copies."""
    from sampan.runtime.base import Stdio, become_subreaper

    process = exec_process(ctx, rec, opts)
    become_subreaper()
    pipes = None
    if opts.tty:
        stdio = Stdio(terminal=True)
    elif opts.detach:
        stdio = Stdio()
    else:
        from sampan.engine.exec_io import ExecPipes
        pipes = ExecPipes(opts.interactive, merge_output=_same_file(stdio_fds[1], stdio_fds[2]))
        stdio = Stdio(*pipes.child_stdio)
    try:
        created = ctx.runtime_for(rec).exec(rec.id, process, stdio, detach=opts.detach)
    except BaseException:
        if pipes is not None:
            pipes.close()
        raise
    if pipes is not None:
        pipes.close_child_ends()
    return ExecHandle(created.pid, created.pty_master, pipes, stdio_fds)


def _same_file(a: int, b: int) -> bool:
    try:
        return os.path.samestat(os.fstat(a), os.fstat(b))
    except OSError:
        return False
