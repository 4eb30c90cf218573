"""Instructions that only change the image config (no layer): their Docker meaning.

Each handler gets the instruction, the mutable runtime config
(`image_config["config"]`), the stage state, and returns the history text.
"""

from __future__ import annotations

import posixpath
import re
import signal
from typing import TYPE_CHECKING, Callable

from sampan.build.parse import Instruction

if TYPE_CHECKING:
    from sampan.build.stage_state import StageState

DEFAULT_SHELL = ["/bin/sh", "-c"]
_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 1_000_000_000,
          "m": 60_000_000_000, "h": 3_600_000_000_000}


class MetadataError(ValueError):
    """A bad value in a metadata instruction; the caller adds the line."""


def _own_dict(st: "StageState", key: str) -> dict:
    """The config's dict at key, changed in place: copying it at every LABEL made a
    Dockerfile of n LABEL lines cost n^2 (the config belongs to this stage alone)."""
    d = st.cfg.get(key)
    if d is None:
        d = st.cfg[key] = {}
    return d


def _pairs(instr: Instruction, st: "StageState") -> list[tuple[str, str]]:
    env = st.expand_env()
    args = instr.args
    return [(st.word(args[i], env), st.word(args[i + 1], env)) for i in range(0, len(args), 2)]


def do_env(instr: Instruction, st: "StageState") -> str:
    pairs = _pairs(instr, st)
    for k, _ in pairs:
        if not k:
            raise MetadataError("ENV names can not be blank")
    for k, v in pairs:
        st.set_env(k, v)
    return "ENV " + " ".join(f"{k}={v}" for k, v in pairs)


def do_label(instr: Instruction, st: "StageState") -> str:
    pairs = _pairs(instr, st)
    if any(not k for k, _ in pairs):
        raise MetadataError("LABEL names can not be blank")
    labels = _own_dict(st, "Labels")
    for k, v in pairs:
        labels[k] = v
    return "LABEL " + " ".join(f"{k}={v}" for k, v in pairs)


def parse_port(spec: str) -> list[str]:
    port, _, proto = spec.partition("/")
    proto = (proto or "tcp").lower()
    if proto not in ("tcp", "udp", "sctp"):
        raise MetadataError(f"invalid proto {proto!r} in EXPOSE {spec}: use tcp, udp or sctp")
    lo, dash, hi = port.partition("-")
    try:
        start, end = int(lo), int(hi) if dash else int(lo)
    except ValueError:
        raise MetadataError(f"invalid port {spec!r} in EXPOSE: expected PORT[/PROTO] or START-END[/PROTO]") from None
    if not (0 < start <= end <= 65535):
        raise MetadataError(f"invalid port range {spec!r} in EXPOSE: ports are 1-65535")
    return [f"{p}/{proto}" for p in range(start, end + 1)]


def do_expose(instr: Instruction, st: "StageState") -> str:
    env = st.expand_env()
    added = []
    for raw in instr.args:  # each token is one word after expansion, as in BuildKit
        added += parse_port(st.word(raw, env))
    ports = _own_dict(st, "ExposedPorts")
    for p in added:
        ports[p] = {}
    return "EXPOSE " + " ".join(added)


def do_user(instr: Instruction, st: "StageState") -> str:
    user = st.word(instr.args[0], st.expand_env())
    if not user:
        raise MetadataError("USER requires a user name or id")
    st.cfg["User"] = user
    return f"USER {user}"


def do_workdir(instr: Instruction, st: "StageState") -> str:
    path = st.word(instr.args[0], st.expand_env())
    if not path:
        raise MetadataError("WORKDIR requires a path")
    base = st.cfg.get("WorkingDir") or "/"
    st.cfg["WorkingDir"] = posixpath.normpath(posixpath.join(base, path))
    return f"WORKDIR {st.cfg['WorkingDir']}"


def do_volume(instr: Instruction, st: "StageState") -> str:
    env = st.expand_env()
    added = []
    for raw in instr.args:
        v = st.word(raw, env)
        if not v.strip():
            raise MetadataError("VOLUME specified can not be an empty string")
        added.append(v)
    vols = _own_dict(st, "Volumes")
    for v in added:
        vols[v] = {}
    return "VOLUME [" + " ".join(added) + "]"


def check_signal(sig: str) -> str:
    if sig.isdigit():
        if not 0 < int(sig) < 65:
            raise MetadataError(f"invalid signal: {sig}")
        return sig
    name = sig.upper()
    if not name.startswith("SIG"):
        name = "SIG" + name
    if name.startswith("SIGRTMIN") or name.startswith("SIGRTMAX") or hasattr(signal, name):
        return sig
    raise MetadataError(f"invalid signal: {sig} (use a name like SIGTERM or a number)")


def do_stopsignal(instr: Instruction, st: "StageState") -> str:
    sig = check_signal(st.word(instr.args[0], st.expand_env()))
    st.cfg["StopSignal"] = sig
    return f"STOPSIGNAL {sig}"


def _command(instr: Instruction, st: "StageState", args: list[str]) -> list[str]:
    if instr.json:
        return list(args)
    return list(st.cfg.get("Shell") or DEFAULT_SHELL) + [" ".join(args)]


def do_cmd(instr: Instruction, st: "StageState") -> str:
    st.cfg["Cmd"] = _command(instr, st, instr.args)
    st.cmd_set = True
    return "CMD " + _json(st.cfg["Cmd"])


def do_entrypoint(instr: Instruction, st: "StageState") -> str:
    ep = _command(instr, st, instr.args)
    st.cfg["Entrypoint"] = ep or None
    if not st.cmd_set:
        st.cfg["Cmd"] = None  # Docker: an ENTRYPOINT drops a CMD inherited from the base
    return "ENTRYPOINT " + _json(ep)


def parse_duration(text: str, flag: str) -> int:
    """Go duration ("30s", "1m30s", "100ms") -> nanoseconds."""
    pos, total = 0, 0.0
    if text in ("0", ""):
        return 0
    while pos < len(text):
        m = _DURATION.match(text, pos)
        if not m:
            raise MetadataError(f"invalid duration {text!r} for --{flag} (e.g. 30s, 1m30s)")
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    return int(total)


def do_healthcheck(instr: Instruction, st: "StageState") -> str:
    if instr.args[0].upper() == "NONE":
        st.cfg["Healthcheck"] = {"Test": ["NONE"]}
        return "HEALTHCHECK NONE"
    rest = instr.args[1:]
    test = (["CMD"] + rest) if instr.json else ["CMD-SHELL", " ".join(rest)]
    hc: dict = {"Test": test}
    for flag, key in (("interval", "Interval"), ("timeout", "Timeout"),
                      ("start-period", "StartPeriod"), ("start-interval", "StartInterval")):
        if flag in instr.flags:
            ns = parse_duration(instr.flags[flag] or "", flag)
            if 0 < ns < 1_000_000:
                raise MetadataError(f"--{flag} cannot be less than 1ms")
            if ns:
                hc[key] = ns
    if "retries" in instr.flags:
        try:
            retries = int(instr.flags["retries"] or "")
        except ValueError:
            raise MetadataError(f"invalid --retries {instr.flags['retries']!r}: expected a number") from None
        if retries < 0:
            raise MetadataError("--retries cannot be negative")
        if retries:
            hc["Retries"] = retries
    st.cfg["Healthcheck"] = hc
    return "HEALTHCHECK " + _json(hc)


def do_shell(instr: Instruction, st: "StageState") -> str:
    st.cfg["Shell"] = list(instr.args)
    return "SHELL " + _json(instr.args)


def do_onbuild(instr: Instruction, st: "StageState") -> str:
    if st.cfg.get("OnBuild") is None:
        st.cfg["OnBuild"] = []
    st.cfg["OnBuild"].append(instr.args[0])
    return "ONBUILD " + instr.args[0]


def do_maintainer(instr: Instruction, st: "StageState") -> str:
    st.image_config["author"] = instr.args[0]
    return "MAINTAINER " + instr.args[0]


def _json(value) -> str:
    import json

    return json.dumps(value)


HANDLERS: dict[str, Callable[[Instruction, "StageState"], str]] = {
    "ENV": do_env, "LABEL": do_label, "EXPOSE": do_expose, "USER": do_user,
    "VOLUME": do_volume, "STOPSIGNAL": do_stopsignal, "CMD": do_cmd,
    "ENTRYPOINT": do_entrypoint, "HEALTHCHECK": do_healthcheck, "SHELL": do_shell,
    "ONBUILD": do_onbuild, "MAINTAINER": do_maintainer, "WORKDIR": do_workdir,
}
