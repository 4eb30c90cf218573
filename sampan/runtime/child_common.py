"""What every forked runtime child shares: the container's init (child.py) and exec's
joiner (exec_join.py). Kept apart from the init's rootfs code, which exec never needs
(its sealed re-exec imports all of this afresh)."""

from __future__ import annotations

import fcntl
import os
import signal
import struct
import termios

from sampan.errors import RuntimeFailure
from sampan.runtime import channel
from sampan.runtime.mountopts import MS_BIND
from sampan.runtime.process import Step

TYPE_CHECKING = False
if TYPE_CHECKING:
    import _socket

    from sampan.runtime.base import Stdio
    from sampan.runtime.sealed_exe import _Stdio


class ChildContext:
    """What the forked child needs. A plain class: dataclasses cost ~10 ms to import."""

    __slots__ = ("sock", "stdio", "devnull", "spec", "rootfs", "fifo", "cgroup_hierarchies",
                 "cgroup_v2", "ns_fds", "seccomp", "pid_fd", "seal", "parent_pid")

    def __init__(self, sock: _socket.socket, stdio: Stdio | _Stdio, devnull: int, spec: dict | None = None,
                 rootfs: str = "", fifo: str = "", cgroup_hierarchies: dict | None = None,
                 cgroup_v2: bool = False, ns_fds: list | None = None,
                 seccomp: bytes | None = None, pid_fd: int | None = None, seal: bool = False,
                 parent_pid: int = 0) -> None:
        self.sock = sock  # child end of the channel
        self.stdio = stdio  # base.Stdio
        self.devnull = devnull
        self.spec = {} if spec is None else spec
        self.rootfs = rootfs
        self.fifo = fifo
        self.cgroup_hierarchies = {} if cgroup_hierarchies is None else cgroup_hierarchies
        self.cgroup_v2 = cgroup_v2
        self.ns_fds = [] if ns_fds is None else ns_fds  # exec: [(fd, nstype)] in join order
        self.seccomp = seccomp  # linux.seccomp of the container, compiled to BPF
        self.pid_fd = pid_fd  # exec: the container's pid namespace, when it is not the caller's
        self.seal = seal  # exec: run the joiner from a sealed copy of the interpreter (sealed_exe.py)
        self.parent_pid = parent_pid  # init: die with this process (its supervisor), see child.py


def reset_signals() -> None:
    """Ignored signals survive execve: undo what Python (SIGPIPE, SIGXFSZ) or the caller set,
    and unblock everything, so the container starts with a clean slate as under runc."""
    for sig in signal.valid_signals():
        if sig in (signal.SIGKILL, signal.SIGSTOP):
            continue
        try:
            if signal.getsignal(sig) == signal.SIG_IGN:
                signal.signal(sig, signal.SIG_DFL)
        except (OSError, ValueError, TypeError):
            pass
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    try:
        signal.set_wakeup_fd(-1)  # a caller's wakeup pipe is not ours to write to
    except ValueError:
        pass


class _NoStdio:
    stdin = stdout = stderr = None


NO_STDIO = _NoStdio()  # setup_stdio(NO_STDIO, devnull): 0-2 on /dev/null until a terminal is made


def setup_stdio(stdio, devnull: int) -> None:
    # dup first to fds above 2 so a caller passing 0/1/2 in any order cannot clobber another
    wanted = [stdio.stdin, stdio.stdout, stdio.stderr]
    temps = [fcntl.fcntl(devnull if fd is None else fd, fcntl.F_DUPFD_CLOEXEC, 3) for fd in wanted]
    for target, fd in enumerate(temps):
        os.dup2(fd, target, inheritable=True)
        os.close(fd)


def setup_terminal(ctx: ChildContext, proc: dict, sys=None, ctty: bool = True) -> None:
    """Open a pty inside the container's /dev/pts; hand the master to the parent.
    For the init (sys given), its slave is also bind-mounted on /dev/console, as runc does.
    ctty=False leaves TIOCSCTTY to the process that will run the command (exec_join.py)."""
    master, slave = os.openpty()
    if sys is not None and os.path.isdir("/dev/pts"):
        if not os.path.exists("/dev/console"):
            os.close(os.open("/dev/console", os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o600))
        sys.mount(os.ttyname(slave), "/dev/console", None, MS_BIND)
    size = proc.get("consoleSize")
    if size:
        fcntl.ioctl(slave, termios.TIOCSWINSZ,
                    struct.pack("HHHH", int(size.get("height", 0)), int(size.get("width", 0)), 0, 0))
    channel.send(ctx.sock, {"type": "pty"}, master)
    os.close(master)
    if ctty:
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    for target in (0, 1, 2):
        os.dup2(slave, target, inheritable=True)
    if slave > 2:
        os.close(slave)


def check_cwd_inside_root() -> None:
    """A working directory reached through a descriptor of the host's (`-w /proc/self/fd/N`,
    CVE-2024-21626) is outside the mount namespace's root: getcwd(2) then fails (ENOENT)."""
    try:
        os.getcwd()
    except FileNotFoundError:
        raise RuntimeFailure("the working directory is outside the container's root") from None


def wait_joined(ctx: ChildContext, step: Step) -> None:
    """The runtime moves us into our cgroup while we set up (a v1 move waits for an RCU grace
    period, ~10 ms): block here only when the cgroup is needed."""
    step.name = "wait to be moved into the cgroup"
    msg, _ = channel.recv(ctx.sock)
    if not msg or msg.get("type") != "joined":
        os._exit(1)  # the runtime gave up on us; it reports why


def report_and_exit(ctx: ChildContext, exc: BaseException, step: Step) -> None:
    try:
        channel.send(ctx.sock, channel.error_message(exc, step.name))
    finally:
        os._exit(1)
