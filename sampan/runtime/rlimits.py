"""OCI rlimit names -> resource numbers, applied in the container's init before exec."""

from __future__ import annotations

import resource

RLIMITS = {name: getattr(resource, name) for name in (
    "RLIMIT_AS", "RLIMIT_CORE", "RLIMIT_CPU", "RLIMIT_DATA", "RLIMIT_FSIZE", "RLIMIT_LOCKS",
    "RLIMIT_MEMLOCK", "RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_NOFILE", "RLIMIT_NPROC",
    "RLIMIT_RSS", "RLIMIT_RTPRIO", "RLIMIT_RTTIME", "RLIMIT_SIGPENDING", "RLIMIT_STACK",
) if hasattr(resource, name)}


def apply_rlimits(rlimits: list[dict]) -> None:
    for rl in rlimits or []:
        resource.setrlimit(RLIMITS[rl["type"]], (int(rl["soft"]), int(rl["hard"])))
