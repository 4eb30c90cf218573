"""Apply an OCI `process` object to the current (forked) process and find its command.

Shared by the container's init and by exec'd processes. Order matters: the
bounding set is dropped while we still hold CAP_SETPCAP, ids change with
KEEPCAPS so the listed capabilities survive setuid, then the exact sets are
installed.
"""

from __future__ import annotations

import os
import stat

from sampan.errors import CommandNotExecutable, CommandNotFound, RuntimeFailure
from sampan.runtime import caps as capmod
from sampan.runtime.rlimits import apply_rlimits
from sampan.runtime.syscalls import PR_SET_NO_NEW_PRIVS
from sampan.state import explain

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def env_dict(env: list[str] | None) -> dict[str, str]:
    out = {}
    for item in env or []:
        k, _, v = item.partition("=")
        out[k] = v
    return out


def lookup_command(name: str, env: dict[str, str]) -> str:
    """The executable for argv[0], searched in the process env's PATH (we are inside the root)."""
    if "/" in name:
        try:
            st = os.stat(name)
        except FileNotFoundError:
            raise CommandNotFound(f'exec: "{name}": stat {name}: no such file or directory') from None
        except NotADirectoryError:
            raise CommandNotFound(f'exec: "{name}": stat {name}: not a directory') from None
        except PermissionError:
            raise CommandNotExecutable(f'exec: "{name}": stat {name}: permission denied') from None
        if stat.S_ISDIR(st.st_mode):
            raise CommandNotExecutable(f'exec: "{name}": is a directory: permission denied')
        if not os.access(name, os.X_OK):
            raise CommandNotExecutable(f'exec: "{name}": permission denied')
        return name
    denied = None
    for d in (env.get("PATH") or DEFAULT_PATH).split(":"):
        candidate = os.path.join(d or ".", name)
        try:
            st = os.stat(candidate)
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode) and os.access(candidate, os.X_OK):
            return candidate
        denied = denied or candidate
    if denied:
        raise CommandNotExecutable(f'exec: "{name}": {denied}: permission denied')
    raise CommandNotFound(f'exec: "{name}": executable file not found in $PATH')


class Step:
    """Names the setup step in progress, so a failure tells which step it was."""

    name = "start"


def _load_seccomp(sys, bpf: bytes, step: Step) -> None:
    step.name = "load the seccomp filter"
    sys.seccomp_filter(bpf)
    if explain.on():
        explain.explain("seccomp", f"filter loaded: {len(bpf) // 8} BPF instructions check every system call from now on")


def apply_process(sys, proc: dict, step: Step, mkdir_cwd: bool = True,
                  seccomp: bytes | None = None,
                  after_setuid=None) -> tuple[str, list[str], dict[str, str]]:
    """Everything after namespaces and the root are ready; returns (path, argv, env) for execve.

    A seccomp filter is loaded last when no_new_privs is set (the fewest syscalls run under
    it), else while CAP_SYS_ADMIN is still held, before the user and capabilities change.
    """
    env = env_dict(proc.get("env"))
    cwd = proc.get("cwd") or "/"
    step.name = "set rlimits"
    apply_rlimits(proc.get("rlimits") or [])
    if proc.get("oomScoreAdj") is not None:
        step.name = "set oom_score_adj"
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write(str(proc["oomScoreAdj"]))
        if explain.on():  # --oom-score-adj: inherited by everything the program starts
            explain.explain("oom score", f"/proc/self/oom_score_adj = {proc['oomScoreAdj']}")
    if mkdir_cwd:
        step.name = f"create working directory {cwd}"
        os.makedirs(cwd, exist_ok=True)  # runc creates a missing cwd too
    capabilities = proc.get("capabilities")
    user = proc.get("user") or {}
    uid, gid = int(user.get("uid", 0)), int(user.get("gid", 0))
    if seccomp and not proc.get("noNewPrivileges"):
        _load_seccomp(sys, seccomp, step)
    if capabilities is not None:
        if explain.on():
            explain.explain("capabilities", _caps_text(capabilities))
        step.name = "drop bounding capabilities"
        capmod.drop_bounding(sys, capabilities)
        capmod.keep_caps_across_setuid(sys)
    step.name = f"switch to user {uid}:{gid}"
    os.setgroups([int(g) for g in user.get("additionalGids") or []])
    os.setgid(gid)
    os.setuid(uid)
    if after_setuid is not None:
        after_setuid()
    os.umask(int(user["umask"]) if user.get("umask") is not None else 0o022)  # never the caller's
    if capabilities is not None:
        step.name = "set capabilities"
        capmod.apply_sets(sys, capabilities)
    step.name = f"change to working directory {cwd}"
    try:
        os.chdir(cwd)
    except OSError as e:
        raise RuntimeFailure(f"cannot change to working directory {cwd}: {e.strerror}") from None
    if proc.get("noNewPrivileges"):
        step.name = "set no_new_privs"
        sys.prctl(PR_SET_NO_NEW_PRIVS, 1)
    step.name = "find the command"
    args = proc["args"]
    path = lookup_command(args[0], env)
    if seccomp and proc.get("noNewPrivileges"):
        _load_seccomp(sys, seccomp, step)
    return path, list(args), env


@explain.safe
def _caps_text(caps: dict) -> str:
    kept = [c.removeprefix("CAP_") for c in caps.get("bounding") or []]
    have = [c.removeprefix("CAP_") for c in capmod.CAP_NAMES]  # no /proc read: it may be the container's
    dropped = [c for c in have if c not in kept]
    return (f"keeps {len(kept)} ({', '.join(sorted(kept))}); drops {len(dropped)} "
            f"({', '.join(sorted(dropped)[:8])}{', ...' if len(dropped) > 8 else ''})")
