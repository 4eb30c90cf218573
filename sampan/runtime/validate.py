"""Config validation: small named checks run before anything is started (runc's habit).

Each check returns None or one human line saying what is wrong; validate()
raises InvalidArgument with the first failure.
"""

from __future__ import annotations

import os
from pathlib import Path

from sampan.errors import InvalidArgument
from sampan.runtime.caps import unknown_caps
from sampan.runtime.rlimits import RLIMITS

from typing import TYPE_CHECKING  # typing is loaded on every path that imports this
if TYPE_CHECKING:
    from typing import Callable

NAMESPACE_TYPES = {"pid", "network", "mount", "ipc", "uts", "cgroup", "user"}


def check_root(spec: dict, bundle: Path) -> str | None:
    root = (spec.get("root") or {}).get("path")
    if not root:
        return "config.json has no root.path: set it to the container's root filesystem"
    path = bundle / root
    if not path.is_dir():
        return f"root filesystem {path} does not exist or is not a directory"
    return None


def check_process(spec: dict, bundle: Path) -> str | None:
    proc = spec.get("process")
    if not isinstance(proc, dict):
        return "config.json has no process: give process.args, process.cwd and process.user"
    return check_process_object(proc)


def check_process_object(proc: dict) -> str | None:
    args = proc.get("args")
    if not args or not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        return "process.args must be a non-empty list of strings (the command to run)"
    cwd = proc.get("cwd", "/")
    if not isinstance(cwd, str) or not cwd.startswith("/"):
        return f"process.cwd {cwd!r} must be an absolute path"
    user = proc.get("user") or {}
    for key in ("uid", "gid"):
        if not isinstance(user.get(key, 0), int) or user.get(key, 0) < 0:
            return f"process.user.{key} must be a non-negative integer"
    for g in user.get("additionalGids") or []:
        if not isinstance(g, int) or g < 0:
            return "process.user.additionalGids must be non-negative integers"
    for e in proc.get("env") or []:
        if not isinstance(e, str) or "=" not in e:
            return f"process.env entry {e!r} must look like NAME=value"
    bad = unknown_caps(proc.get("capabilities") or {})
    if bad:
        return f"unknown capabilities {', '.join(bad)}: use names like CAP_NET_ADMIN"
    for rl in proc.get("rlimits") or []:
        if rl.get("type") not in RLIMITS:
            return f"unknown rlimit type {rl.get('type')!r}: use names like RLIMIT_NOFILE"
        if int(rl.get("soft", 0)) > int(rl.get("hard", 0)):
            return f"rlimit {rl['type']}: soft limit is above the hard limit"
    return None


def check_namespaces(spec: dict, bundle: Path) -> str | None:
    seen = set()
    for ns in (spec.get("linux") or {}).get("namespaces") or []:
        t = ns.get("type")
        if t not in NAMESPACE_TYPES:
            return f"unknown namespace type {t!r}: use one of {', '.join(sorted(NAMESPACE_TYPES))}"
        if t in seen:
            return f"namespace {t!r} is listed twice in linux.namespaces"
        seen.add(t)
        if t == "user":
            return "user namespaces are not supported by the native runtime: use --runtime runc"
        if ns.get("path") and not os.path.exists(ns["path"]):
            return f"{t} namespace path {ns['path']} does not exist"
    return None


def check_hostname(spec: dict, bundle: Path) -> str | None:
    if not spec.get("hostname"):
        return None
    types = {ns.get("type") for ns in (spec.get("linux") or {}).get("namespaces") or []}
    if "uts" not in types:
        return "a hostname needs its own uts namespace: add {\"type\": \"uts\"} to linux.namespaces"
    return None


def check_mounts(spec: dict, bundle: Path) -> str | None:
    for m in spec.get("mounts") or []:
        dest = m.get("destination", "")
        if not dest.startswith("/"):
            return f"mount destination {dest!r} must be an absolute path"
        if m.get("type") == "bind" or "bind" in (m.get("options") or []) or "rbind" in (m.get("options") or []):
            if not m.get("source") or not os.path.exists(m["source"]):
                return f"bind mount source {m.get('source')!r} for {dest} does not exist"
    return None


def check_cgroups_path(spec: dict, bundle: Path) -> str | None:
    path = (spec.get("linux") or {}).get("cgroupsPath")
    if path is None:
        return None
    if ":" in path:
        return f"cgroupsPath {path!r} is a systemd slice; only cgroupfs paths like /sampan/ID are supported"
    if ".." in Path(path).parts:
        return f"cgroupsPath {path!r} must not contain '..'"
    return None


def check_seccomp(spec: dict, bundle: Path) -> str | None:
    profile = (spec.get("linux") or {}).get("seccomp")
    if not profile:
        return None
    from sampan.runtime.seccomp import check
    return check(profile)


CHECKS: list[Callable[[dict, Path], str | None]] = [
    check_root, check_process, check_namespaces, check_hostname, check_mounts, check_cgroups_path,
    check_seccomp,
]


def validate(spec: dict, bundle: Path) -> None:
    for check in CHECKS:
        problem = check(spec, bundle)
        if problem:
            raise InvalidArgument(problem)
