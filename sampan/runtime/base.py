"""The runtime interface: the verbs of runc over an OCI bundle.

The caller (engine monitor or CLI) calls become_subreaper() and then create();
the container's init process ends up as the caller's child with either
implementation, so the caller reaps it with os.waitpid and computes the exit
code itself. Exec'd processes work the same way.
"""

from __future__ import annotations

from pathlib import Path

from sampan.errors import RuntimeFailure

# Every `run` imports this module: plain classes, no dataclasses or typing.

PR_SET_CHILD_SUBREAPER = 36


class Stdio:
    """File descriptors the container's process gets (None -> /dev/null)."""

    __slots__ = ("stdin", "stdout", "stderr", "terminal")

    def __init__(self, stdin: int | None = None, stdout: int | None = None,
                 stderr: int | None = None, terminal: bool = False) -> None:
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self.terminal = terminal  # the runtime makes a pty; its slave is the stdio and controlling tty

    def __repr__(self) -> str:
        return (f"Stdio(stdin={self.stdin!r}, stdout={self.stdout!r}, stderr={self.stderr!r}, "
                f"terminal={self.terminal!r})")


class Created:
    __slots__ = ("pid", "pty_master")

    def __init__(self, pid: int, pty_master: int | None = None) -> None:
        self.pid = pid
        self.pty_master = pty_master  # master fd when terminal; the caller owns (closes) it

    def __repr__(self) -> str:
        return f"Created(pid={self.pid!r}, pty_master={self.pty_master!r})"


class RuntimeState:
    __slots__ = ("id", "status", "pid", "bundle")

    def __init__(self, id: str, status: str, pid: int, bundle: str) -> None:
        self.id = id
        self.status = status  # 'created' | 'running' | 'stopped'
        self.pid = pid
        self.bundle = bundle

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RuntimeState):
            return NotImplemented
        return (self.id, self.status, self.pid, self.bundle) == \
            (other.id, other.status, other.pid, other.bundle)

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return (f"RuntimeState(id={self.id!r}, status={self.status!r}, pid={self.pid!r}, "
                f"bundle={self.bundle!r})")


def cgroups_path(cid: str, parent: str | None = None) -> str:
    """A container's cgroup, relative to the hierarchy roots: what the engine writes as the
    bundle's linux.cgroupsPath, and the native runtime's default when a bundle has none.
    ``parent``: --cgroup-parent, already checked relative (engine/cgroup_flags.py)."""
    return f"/{parent}/{cid}" if parent else f"/sampan/{cid}"


class OCIRuntime:
    """Every verb the engine calls on a runtime. NativeRuntime and RuncRuntime subclass it
    and so inherit the defaults of the optional hooks (prepare_cgroup, discard_cgroup)."""

    name: str

    def create(self, cid: str, bundle: Path, stdio: Stdio, meanwhile=None) -> Created:
        """Create the container (its init waits for start()). meanwhile(), when given, is
        called once during create: the native runtime calls it while the init is still
        setting itself up, so the caller's own preparations cost no time."""
        raise NotImplementedError
    def start(self, cid: str) -> None:
        raise NotImplementedError
    def state(self, cid: str) -> RuntimeState:
        raise NotImplementedError
    def kill(self, cid: str, sig: int, all: bool = False) -> None:
        raise NotImplementedError
    def delete(self, cid: str, force: bool = False) -> None:
        """Remove the runtime state and the cgroup (killing what is left in it). A created
        container is killed; a running one needs force."""
        raise NotImplementedError
    def exec(self, cid: str, process: dict, stdio: Stdio, detach: bool = False) -> Created:
        """Start `process` (an OCI process object) in the running container. Both runtimes
        return as soon as it runs, as the caller's child; `detach` only records intent.
        Missing capabilities/noNewPrivileges/rlimits are taken from the container's."""
        raise NotImplementedError
    def oom_killed(self, cid: str) -> bool:
        """Did the OOM killer kill something in the container's cgroup? Ask before delete()."""
        raise NotImplementedError

    def prepare_cgroup(self, cgroups_path: str) -> None:
        """Called as a start begins, ~12 ms before create() moves the init into its cgroup:
        start the RCU grace period that move waits for (cgroups/prime.py). This default only
        primes; a runtime that makes the cgroup itself may make it here first. Never fails:
        create() reports what is wrong with the cgroup."""
        from sampan.runtime.cgroups.prime import prime
        prime()

    def discard_cgroup(self, cgroups_path: str) -> None:
        """Undo prepare_cgroup() for a start that failed before create(); idempotent, and
        a no-op for a runtime whose prepare_cgroup makes nothing."""


def become_subreaper() -> None:
    """Orphaned descendants (a container init after `runc create`) are reparented to us."""
    import ctypes  # not at module top: `import sampan.runtime.base` stays cheap for the engine

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise RuntimeFailure(f"prctl(PR_SET_CHILD_SUBREAPER) failed: errno {ctypes.get_errno()}")
