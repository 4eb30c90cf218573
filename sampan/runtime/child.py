"""Code that runs in the forked child: the container's init (and the helpers that
exec_join.py, the exec'd process's side, shares).

Nothing here returns: the child execs its command or reports the failed step
over the channel and exits.
"""

from __future__ import annotations

import fcntl
import os
import signal
import struct
import termios

from sampan.errors import RuntimeFailure
from sampan.runtime import channel
from sampan.runtime.confine import confine
from sampan.runtime.mountopts import MS_BIND
from sampan.runtime.process import Step, apply_process
from sampan.runtime.rootfs import RootfsBuilder
from sampan.runtime.syscalls import (CLONE_NEWCGROUP, CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS,
                                     CLONE_NEWUTS)

NS_FLAGS = {"mount": CLONE_NEWNS, "uts": CLONE_NEWUTS, "ipc": CLONE_NEWIPC,
            "network": CLONE_NEWNET, "cgroup": CLONE_NEWCGROUP}


class ChildContext:
    """What the forked child needs. A plain class: dataclasses cost ~10 ms to import."""

    __slots__ = ("sock", "stdio", "devnull", "spec", "rootfs", "fifo", "cgroup_hierarchies",
                 "cgroup_v2", "ns_fds", "seccomp", "pid_fd", "seal")

    def __init__(self, sock: object, stdio: object, devnull: int, spec: dict | None = None,
                 rootfs: str = "", fifo: str = "", cgroup_hierarchies: dict | None = None,
                 cgroup_v2: bool = False, ns_fds: list | None = None,
                 seccomp: bytes | None = None, pid_fd: int | None = None, seal: bool = False) -> None:
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


def _write_sysctls(sysctls: dict) -> None:
    for key, value in (sysctls or {}).items():
        with open("/proc/sys/" + key.replace(".", "/"), "w") as f:
            f.write(str(value))


def _finish(sys, ctx: ChildContext, proc: dict, step: Step, wait_fifo: int | None,
            mkdir_cwd: bool = True) -> None:
    path, argv, env = apply_process(sys, proc, step, mkdir_cwd=mkdir_cwd, seccomp=ctx.seccomp)
    check_cwd_inside_root()
    step.name = "report ready"
    channel.send(ctx.sock, {"type": "ready"})
    if wait_fifo is not None:
        os.read(wait_fifo, 1)  # blocks until start() writes
        os.close(wait_fifo)
    try:
        os.execve(path, argv, env)
    except OSError as e:
        code = 127 if isinstance(e, FileNotFoundError) else 126
        os.write(2, f"sampan: exec {argv[0]}: {e.strerror}\n".encode())
        os._exit(code)


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


def container_init(sys, ctx: ChildContext) -> None:
    step = Step()
    try:
        reset_signals()
        step.name = "set up stdio"
        terminal = ctx.stdio.terminal
        setup_stdio(NO_STDIO if terminal else ctx.stdio, ctx.devnull)  # 0-2 were the caller's
        confine(sys, [ctx.sock.fileno()])
        spec, linux = ctx.spec, ctx.spec.get("linux") or {}
        proc = spec["process"]
        flags = 0
        cgroupns = False
        for ns in linux.get("namespaces") or []:
            t = ns["type"]
            if t == "pid" or t not in NS_FLAGS:
                continue  # the parent did the pid namespace before forking us
            if t == "cgroup" and not ns.get("path"):
                cgroupns = True  # unshared once we are in our cgroup: it becomes the namespace root
                continue
            if ns.get("path"):
                step.name = f"join {t} namespace {ns['path']}"
                fd = os.open(ns["path"], os.O_RDONLY | os.O_CLOEXEC)
                sys.setns(fd, NS_FLAGS[t])
                os.close(fd)
            else:
                flags |= NS_FLAGS[t]
        step.name = "create namespaces"
        sys.unshare(flags)
        step.name = "open the exec fifo"
        fifo = os.open(ctx.fifo, os.O_RDWR | os.O_CLOEXEC)  # RDWR: never blocks, never sees EOF
        if spec.get("hostname"):
            step.name = "set hostname"
            sys.sethostname(spec["hostname"])
        if spec.get("domainname"):
            step.name = "set domainname"
            sys.setdomainname(spec["domainname"])
        builder = RootfsBuilder(sys, spec, ctx.rootfs, ctx.cgroup_hierarchies, ctx.cgroup_v2)
        defer = builder.can_defer_cgroup()
        if not defer:
            wait_joined(ctx, step)
            _enter_cgroupns(sys, cgroupns, step)
        step.name = "mount the container filesystems"
        builder.prepare(step, defer_cgroup=defer)
        step.name = "pivot_root"
        builder.pivot()
        if defer:
            wait_joined(ctx, step)
            _enter_cgroupns(sys, cgroupns, step)
            step.name = "mount the cgroup filesystem"
            builder.mount_deferred()
        step.name = "write sysctls"
        _write_sysctls(linux.get("sysctl") or {})
        if terminal:
            step.name = "open the terminal"
            setup_terminal(ctx, proc, sys)
        cwd = proc.get("cwd") or "/"
        step.name = f"create working directory {cwd}"
        os.makedirs(cwd, exist_ok=True)  # as runc: before the root may turn read-only
        step.name = "set read-only and masked paths"
        builder.finalize()
        _finish(sys, ctx, proc, step, fifo, mkdir_cwd=False)
    except BaseException as e:  # noqa: BLE001 - whatever happens, report it and leave
        report_and_exit(ctx, e, step)


def _enter_cgroupns(sys, wanted: bool, step: Step) -> None:
    if wanted:
        step.name = "create the cgroup namespace"
        sys.unshare(CLONE_NEWCGROUP)


def report_and_exit(ctx: ChildContext, exc: BaseException, step: Step) -> None:
    try:
        channel.send(ctx.sock, channel.error_message(exc, step.name))
    finally:
        os._exit(1)
