"""``docker import --change`` lines: a small subset of Dockerfile instructions
(CMD ENTRYPOINT ENV WORKDIR USER EXPOSE LABEL VOLUME STOPSIGNAL) applied to an
image config. JSON (exec) form or shell form, as Docker accepts them.
"""

from __future__ import annotations

import json
import re
import shlex

from sampan.errors import InvalidArgument

from typing import TYPE_CHECKING  # typing is loaded on every path that imports this
if TYPE_CHECKING:
    from typing import Any

ALLOWED = ("CMD", "ENTRYPOINT", "ENV", "WORKDIR", "USER", "EXPOSE", "LABEL", "VOLUME",
           "STOPSIGNAL")
_PORT_PATTERN = r"^(\d{1,5})(?:-(\d{1,5}))?(?:/(tcp|udp|sctp))?$"  # compiled by re's cache on use


def _bad(line: str, why: str) -> InvalidArgument:
    return InvalidArgument(f"invalid change {line!r}: {why}")


def _json_list(arg: str) -> list[str] | None:
    """The exec form if arg is a JSON array of strings, else None (shell form)."""
    if not arg.startswith("["):
        return None
    try:
        value = json.loads(arg)
    except ValueError:
        return None
    if isinstance(value, list) and all(isinstance(x, str) for x in value):
        return value
    return None


def _words(line: str, arg: str) -> list[str]:
    try:
        return shlex.split(arg)
    except ValueError as e:
        raise _bad(line, str(e)) from None


def _pairs(line: str, arg: str, legacy_ok: bool) -> list[tuple[str, str]]:
    words = _words(line, arg)
    if not words:
        raise _bad(line, "needs at least one key=value")
    if "=" not in words[0]:
        if not legacy_ok or len(words) < 2:
            raise _bad(line, "expected key=value")
        # legacy "ENV KEY value with spaces"
        key, _, rest = arg.strip().partition(" ")
        return [(key, rest.strip())]
    out = []
    for w in words:
        key, eq, value = w.partition("=")
        if not eq or not key:
            raise _bad(line, f"{w!r} is not key=value")
        out.append((key, value))
    return out


def apply_change(config: dict[str, Any], line: str, cmd_set: bool = False) -> str:
    """Apply one change line to the ``config`` section (Docker's container config).

    Returns the instruction name. ``cmd_set``: a CMD came earlier in the same list.
    """
    text = line.strip()
    if not text:
        raise _bad(line, "empty")
    word, _, arg = text.partition(" ")
    op, arg = word.upper(), arg.strip()
    if op not in ALLOWED:
        raise _bad(line, f"{word} is not allowed; use one of {', '.join(ALLOWED)}")
    if op in ("CMD", "ENTRYPOINT"):
        exec_form = _json_list(arg)
        if exec_form is None:
            if not arg:
                raise _bad(line, f"{op} needs a command")
            exec_form = ["/bin/sh", "-c", arg]
        config["Cmd" if op == "CMD" else "Entrypoint"] = exec_form
        if op == "ENTRYPOINT" and not cmd_set:
            config.pop("Cmd", None)  # as Docker: ENTRYPOINT resets an inherited CMD
    elif op == "ENV":
        env = [e for e in config.get("Env") or []]
        for key, value in _pairs(line, arg, legacy_ok=True):
            env = [e for e in env if e.partition("=")[0] != key] + [f"{key}={value}"]
        config["Env"] = env
    elif op == "LABEL":
        labels = dict(config.get("Labels") or {})
        labels.update(_pairs(line, arg, legacy_ok=False))
        config["Labels"] = labels
    elif op in ("WORKDIR", "USER", "STOPSIGNAL"):
        if not arg:
            raise _bad(line, f"{op} needs a value")
        value = arg if op == "WORKDIR" else _words(line, arg)[0]
        if op == "WORKDIR" and not value.startswith("/"):
            value = "/" + value  # Docker resolves a relative WORKDIR against /
        config[{"WORKDIR": "WorkingDir", "USER": "User", "STOPSIGNAL": "StopSignal"}[op]] = value
    elif op == "EXPOSE":
        ports = dict(config.get("ExposedPorts") or {})
        for w in _words(line, arg) or [""]:
            m = re.match(_PORT_PATTERN, w, re.IGNORECASE)
            if not m or int(m.group(1)) > 65535 or (m.group(2) and int(m.group(2)) > 65535):
                raise _bad(line, f"{w!r} is not a port (like 80, 53/udp, 8000-8010/tcp)")
            lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
            proto = (m.group(3) or "tcp").lower()
            for p in range(lo, hi + 1):
                ports[f"{p}/{proto}"] = {}
        config["ExposedPorts"] = ports
    elif op == "VOLUME":
        paths = _json_list(arg)
        if paths is None:
            paths = _words(line, arg)
        if not paths or any(not p for p in paths):
            raise _bad(line, "VOLUME needs at least one path")
        vols = dict(config.get("Volumes") or {})
        vols.update({p: {} for p in paths})
        config["Volumes"] = vols
    return op


def apply_changes(config: dict[str, Any], changes) -> dict[str, Any]:
    cmd_set = False
    for line in changes or ():
        if not isinstance(line, str):
            raise InvalidArgument(f"invalid change {line!r}: expected a string")
        cmd_set = apply_change(config, line, cmd_set) == "CMD" or cmd_set
    return config
