"""exec, in the forked child (the "joiner"): join a running container, start the command.

The joiner stays in the host's pid namespace, where no container process can
see it, while it does everything that needs privileges: it confines itself
(confine.py: non-dumpable, own session, no descriptor but its stdio and the
namespace files), joins the container's namespaces, makes the terminal, waits
to be moved into the cgroup, applies the process object (limits, user,
capabilities, seccomp, working directory) and finds the command. Only then
does it fork the command's process into the container's pid namespace: what a
container process can see there, until execve, has the container's own
credentials and holds nothing but its stdio. (runc and crun fork into the pid
namespace as soon as the namespaces are joined and drop privileges there; a
container with CAP_SYS_PTRACE could trace that process while it still holds
every capability.) Such a container can still open /proc/PID/exe of the
command's process before its execve: for it the joiner runs from a sealed
copy of the interpreter (sealed_exe.py).
"""

from __future__ import annotations

import errno
import fcntl
import os
import termios

from sampan.errors import CommandNotExecutable, CommandNotFound
from sampan.runtime import channel
from sampan.runtime.child_common import (NO_STDIO, ChildContext, check_cwd_inside_root,
                                         report_and_exit, reset_signals, setup_stdio, setup_terminal,
                                         wait_joined)
from sampan.runtime.confine import confine
from sampan.state import explain
from sampan.runtime.process import Step, apply_process
from sampan.runtime.syscalls import CLONE_NEWPID


def exec_child(sys, ctx: ChildContext, proc: dict) -> None:
    """The joiner, right after fork from the runtime's caller. Never returns."""
    step = Step()
    try:
        reset_signals()
        step.name = "confine the exec'd process"
        # fds 0-2 are the caller's (its terminal, maybe): replaced before anything else
        setup_stdio(NO_STDIO if ctx.stdio.terminal else ctx.stdio, ctx.devnull)
        confine(sys, [ctx.sock.fileno(), ctx.pid_fd, explain.hold()] + [fd for fd, _ in ctx.ns_fds])
        if ctx.seal:
            from sampan.runtime.sealed_exe import reexec
            step.name = "run from a sealed copy of the interpreter"
            reexec(ctx, proc)  # continues in join() in a new interpreter
        join(sys, ctx, proc, step)
    except BaseException as e:  # noqa: BLE001 - whatever happens, report it and leave
        report_and_exit(ctx, e, step)


def join(sys, ctx: ChildContext, proc: dict, step: Step) -> None:
    """Everything after confinement; never returns (reports errors to the caller's except)."""
    step.name = "join the container's namespaces"
    for fd, nstype in ctx.ns_fds:
        sys.setns(fd, nstype)
        os.close(fd)
    if ctx.pid_fd is not None:
        sys.setns(ctx.pid_fd, CLONE_NEWPID)  # for the child forked below; we stay where we are
        os.close(ctx.pid_fd)
    if ctx.stdio.terminal:
        step.name = "open the terminal"
        setup_terminal(ctx, proc, ctty=False)
    wait_joined(ctx, step)
    path, argv, env = apply_process(sys, proc, step, seccomp=ctx.seccomp)
    check_cwd_inside_root()
    step.name = "start the command"
    pid = _spawn(ctx, path, argv, env)
    if explain.on():
        explain.explain("exec", f"{path} {' '.join(argv[1:])} started in the container as host pid {pid}")
    channel.send(ctx.sock, {"type": "ready", "pid": pid})
    os._exit(0)


def _spawn(ctx: ChildContext, path: str, argv: list[str], env: dict[str, str]) -> int:
    """The command's process, in a session of its own. Without a terminal, posix_spawn: a
    vfork that copies nothing of our (the engine's) memory and execs at once, where a fork
    would copy and then tear down every page table of it, twice the time. A terminal must
    become the controlling one in between (TIOCSCTTY): fork for that."""
    if not ctx.stdio.terminal:
        try:
            return os.posix_spawn(path, argv, env, setsid=True)
        except FileNotFoundError:
            raise CommandNotFound(f'exec: "{argv[0]}": no such file or directory') from None
        except PermissionError as e:
            if e.errno != errno.EPERM:  # EPERM: a seccomp profile refusing clone3; fork below
                raise CommandNotExecutable(f'exec: "{argv[0]}": permission denied') from None
        except OSError as e:
            if e.errno != errno.ENOSYS:
                raise
    pid = os.fork()
    if pid == 0:
        _become_command(ctx, path, argv, env)
    return pid


def _become_command(ctx: ChildContext, path: str, argv: list[str], env: dict[str, str]) -> None:
    code = 126
    try:
        ctx.sock.close()
        os.setsid()  # a session of its own: its sid is its pid, as under runc
        if ctx.stdio.terminal:
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)
        os.execve(path, argv, env)
    except OSError as e:
        code = 127 if isinstance(e, FileNotFoundError) else 126
        try:
            os.write(2, f"sampan: exec {argv[0]}: {e.strerror}\n".encode())
        except OSError:
            pass
    finally:
        os._exit(code)
