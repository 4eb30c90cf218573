"""Parse WWW-Authenticate challenges (RFC 7235) as registries send them.

Example: ``Bearer realm="https://auth.docker.io/token",service="registry.docker.io",
scope="repository:library/busybox:pull"``. Quoted values may contain commas.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_PARAM_RE = re.compile(r'\s*([A-Za-z0-9_.-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?')


@dataclass(frozen=True)
class Challenge:
    scheme: str                      # lower case: "bearer", "basic"
    params: dict[str, str] = field(default_factory=dict)


def parse_challenges(header: str) -> list[Challenge]:
    """Return every challenge in a header value; unknown syntax is skipped, never raised."""
    out: list[Challenge] = []
    rest = header.strip()
    while rest:
        m = re.match(r"([A-Za-z][A-Za-z0-9_-]*)\s*", rest)
        if not m:
            break
        scheme = m.group(1).lower()
        rest = rest[m.end():]
        params: dict[str, str] = {}
        while rest:
            # A bare token followed by a space (not '=') starts the next challenge.
            nxt = re.match(r"([A-Za-z][A-Za-z0-9_-]*)\s+(?![=])", rest)
            if nxt and "=" not in rest[: nxt.end()]:
                break
            pm = _PARAM_RE.match(rest)
            if not pm:
                break
            value = pm.group(2) if pm.group(2) is not None else pm.group(3)
            params[pm.group(1).lower()] = re.sub(r"\\(.)", r"\1", value)
            rest = rest[pm.end():].lstrip(", ")
        out.append(Challenge(scheme, params))
    return out
