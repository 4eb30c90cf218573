"""--ulimit NAME=SOFT[:HARD] (Docker's syntax, go-units' ParseUlimit) and its OCI rlimits."""

from __future__ import annotations

from sampan.errors import InvalidArgument
from sampan.specgen.units import INT64_MAX, shown

NAMES = ("core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc",
         "rss", "rtprio", "rttime", "sigpending", "stack")


def _number(text: str, spec: str) -> int:
    body = text[1:] if text[:1] in "+-" else text
    if not body or not body.isascii() or not body.isdigit() or len(body.lstrip("0")) > 19:
        raise InvalidArgument(f"invalid ulimit argument: {shown(spec)}")
    n = int(text)
    if not -1 <= n <= INT64_MAX:
        raise InvalidArgument(f"invalid ulimit argument: {shown(spec)}: -1 (unlimited) or more")
    return n


def parse_ulimit(spec) -> dict:
    """A CLI string or the API's {"Name", "Soft", "Hard"}: Docker's Ulimit object."""
    if isinstance(spec, dict):
        name, soft, hard = spec.get("Name"), spec.get("Soft"), spec.get("Hard")
        if not isinstance(name, str) or not all(isinstance(v, int) and not isinstance(v, bool)
                                                for v in (soft, hard)):
            raise InvalidArgument("each of Ulimits needs a Name and whole-number Soft and Hard")
        text = f"{name}={soft}:{hard}"
        return parse_ulimit(text)
    if not isinstance(spec, str):
        raise InvalidArgument("a ulimit must be NAME=SOFT[:HARD]")
    name, eq, limits = spec.partition("=")
    if not eq:
        raise InvalidArgument(f"invalid ulimit argument: {shown(spec)}")
    if name not in NAMES:
        raise InvalidArgument(f"invalid ulimit type: {shown(name)} (one of {', '.join(NAMES)})")
    soft_s, colon, hard_s = limits.partition(":")
    soft = _number(soft_s, spec)
    hard = _number(hard_s, spec) if colon else soft
    if hard != -1 and (soft == -1 or soft > hard):
        raise InvalidArgument(f"ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}")
    return {"Name": name, "Soft": soft, "Hard": hard}


def oci_rlimits(ulimits: list[dict], defaults: list[dict]) -> list[dict]:
    """The process's rlimits: the defaults, each replaced by a --ulimit of the same type.
    -1 is the kernel's RLIM_INFINITY (2^64-1 in the OCI spec)."""
    def value(n: int) -> int:
        return 2**64 - 1 if n == -1 else n
    given = {"RLIMIT_" + u["Name"].upper(): u for u in ulimits}
    out = [d for d in defaults if d["type"] not in given]
    out += [{"type": t, "soft": value(u["Soft"]), "hard": value(u["Hard"])} for t, u in given.items()]
    return out


def check_grantable(ulimits: list[dict]) -> None:
    """Without CAP_SYS_RESOURCE (this engine may lack it) a hard limit can only be lowered:
    say so at create rather than fail the start."""
    import resource
    if _has_sys_resource():
        return
    for u in ulimits:
        res = getattr(resource, "RLIMIT_" + u["Name"].upper(), None)
        if res is None:
            continue
        _, hard = resource.getrlimit(res)
        want = resource.RLIM_INFINITY if u["Hard"] == -1 else u["Hard"]
        if hard != resource.RLIM_INFINITY and (want == resource.RLIM_INFINITY or want > hard):
            raise InvalidArgument(f"--ulimit {u['Name']}: hard limit {u['Hard']} is above this engine's own "
                                  f"({hard}) and it lacks CAP_SYS_RESOURCE to raise it")


def _has_sys_resource() -> bool:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("CapEff:"):
                    return bool(int(line.split()[1], 16) >> 24 & 1)
    except OSError:
        pass
    return False
