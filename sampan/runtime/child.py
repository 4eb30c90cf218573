"""Code that runs in the forked child that becomes the container's init (exec's side is
exec_join.py; what both share, child_common.py).

Nothing here returns: the child execs its command or reports the failed step
over the channel and exits.
"""

from __future__ import annotations

import os
import signal

from sampan.runtime import channel
from sampan.runtime.child_common import (NO_STDIO, ChildContext, check_cwd_inside_root,
                                         report_and_exit, reset_signals, setup_stdio, setup_terminal,
                                         wait_joined)
from sampan.runtime.confine import confine
from sampan.state import explain
from sampan.runtime.forking import forked_via_intermediate
from sampan.runtime.process import Step, apply_process
from sampan.runtime.rootfs import RootfsBuilder
from sampan.runtime.syscalls import (CLONE_NEWCGROUP, CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS,
                                     CLONE_NEWUTS, PR_SET_PDEATHSIG)

NS_FLAGS = {"mount": CLONE_NEWNS, "uts": CLONE_NEWUTS, "ipc": CLONE_NEWIPC,
            "network": CLONE_NEWNET, "cgroup": CLONE_NEWCGROUP}


def _write_sysctls(sysctls: dict) -> None:
    for key, value in (sysctls or {}).items():
        with open("/proc/sys/" + key.replace(".", "/"), "w") as f:
            f.write(str(value))


def die_with_parent(sys, parent_pid: int) -> None:
    """The container's init gets SIGKILL when the process that created it (the monitor, or a
    build) dies, even by SIGKILL: nothing else would stop it, and a container nobody
    supervises has lost its logs and its exit code (the pid namespace takes every other
    process of the container with its init). Armed only when that process is our parent:
    through fork_in_pidns's intermediate, the parent exits at once."""
    if not parent_pid or forked_via_intermediate():
        return
    sys.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if _host_ppid() != parent_pid:  # it died before the signal was armed
        os._exit(1)


def _rearm_parent_death(sys, parent_pid: int) -> None:
    """A change of user or group clears the parent-death signal: set it again (best effort:
    the container's own seccomp profile may already be loaded and refuse prctl)."""
    if parent_pid and not forked_via_intermediate():
        try:
            sys.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        except OSError:
            pass


def _host_ppid() -> int:
    """Our parent's pid as the host sees it (getppid() says 0 in a new pid namespace): read
    before pivot_root, /proc is still the host's."""
    with open("/proc/self/stat", "rb") as f:
        data = f.read()
    return int(data[data.rindex(b")") + 2:].split()[1])


def _finish(sys, ctx: ChildContext, proc: dict, step: Step, wait_fifo: int | None,
            mkdir_cwd: bool = True) -> None:
    rearm = (lambda: _rearm_parent_death(sys, ctx.parent_pid)) if ctx.parent_pid else None
    path, argv, env = apply_process(sys, proc, step, mkdir_cwd=mkdir_cwd, seccomp=ctx.seccomp,
                                    after_setuid=rearm)
    check_cwd_inside_root()
    if explain.on():
        explain.explain("exec", f"PID 1 will exec {path} {' '.join(argv[1:])} as soon as it is started "
                        f"(user {os.getuid()}:{os.getgid()}, cwd {os.getcwd()})")
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


def container_init(sys, ctx: ChildContext) -> None:
    step = Step()
    try:
        reset_signals()
        step.name = "set up stdio"
        terminal = ctx.stdio.terminal
        setup_stdio(NO_STDIO if terminal else ctx.stdio, ctx.devnull)  # 0-2 were the caller's
        confine(sys, [ctx.sock.fileno(), explain.hold()])  # pivot_root hides the file's path
        step.name = "tie the container to its supervisor"
        die_with_parent(sys, ctx.parent_pid)
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
        if explain.on():
            explain.explain("namespaces", _made(linux, cgroupns))
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
        if explain.on():
            explain.explain("pivot_root", _pivoted(ctx.rootfs, spec.get("mounts") or []))
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


@explain.safe
def _pivoted(rootfs: str, mounts: list) -> str:
    shown = ", ".join(m.get("destination", "?") for m in mounts[:6])
    return (f"{rootfs} is now / for the container; the host's root is unmounted from its view, "
            f"after {len(mounts)} mounts inside ({shown}{', ...' if len(mounts) > 6 else ''})")


@explain.safe
def _made(linux: dict, cgroupns: bool) -> str:
    made, joined = ["pid (this process is its PID 1)"], []
    for ns in linux.get("namespaces") or []:
        t = ns.get("type")
        if t == "pid":
            continue
        if ns.get("path"):
            joined.append(f"{t} {ns['path']}")
        elif t in NS_FLAGS:
            made.append(t + (" (once in its cgroup)" if t == "cgroup" and cgroupns else ""))
    return "made " + ", ".join(made) + ("; joined " + ", ".join(joined) if joined else "")


def _enter_cgroupns(sys, wanted: bool, step: Step) -> None:
    if wanted:
        step.name = "create the cgroup namespace"
        sys.unshare(CLONE_NEWCGROUP)
