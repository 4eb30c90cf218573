"""RFC 3339 timestamps (image, container and build step times) and Docker's human durations.

Shared by the engine (a container's `Status` text, "Up 3 minutes", is part of
Docker's API) and the CLI (the CREATED column is computed client-side, as Docker's).
"""

from __future__ import annotations

import time


def now_rfc3339() -> str:
    """Now in UTC with nanoseconds, as Docker writes `Created` and `StartedAt`."""
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1e9):09d}Z"


def parse_time(rfc: str) -> float:
    """Seconds since the epoch of an RFC 3339 UTC time; 0.0 when empty or unreadable."""
    if not rfc:
        return 0.0
    import calendar  # not at the top: now_rfc3339 is on `run`'s path, parse_time is not
    base, _, frac = rfc.rstrip("Z").partition(".")
    t = _fixed_fields(base)
    if t is None:
        try:
            t = calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S"))
        except ValueError:
            return 0.0
    if frac and not (frac.isascii() and frac.isdigit()):
        return 0.0
    return t + (float("0." + frac) if frac else 0.0)


def _fixed_fields(base: str) -> float | None:
    """YYYY-MM-DDTHH:MM:SS read by position (strptime costs ~0.1 ms: three a container
    for each `ps` line); None for anything else, which strptime then judges."""
    if len(base) != 19 or base[4] != "-" or base[7] != "-" or base[10] != "T" or base[13] != ":" \
            or base[16] != ":":
        return None
    parts = (base[0:4], base[5:7], base[8:10], base[11:13], base[14:16], base[17:19])
    if not all(p.isascii() and p.isdigit() for p in parts):
        return None
    y, mo, d, h, mi, s = (int(p) for p in parts)
    if not (1 <= mo <= 12 and 1 <= d <= 31 and h < 24 and mi < 60 and s <= 61):
        return None
    import calendar
    return float(calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0)))


def human_duration(seconds: float) -> str:
    """Docker's units.HumanDuration."""
    s = int(seconds)
    if s < 1:
        return "Less than a second"
    if s == 1:
        return "1 second"
    if s < 60:
        return f"{s} seconds"
    m = s // 60
    if m == 1:
        return "About a minute"
    if m < 60:
        return f"{m} minutes"
    h = round(s / 3600)
    if h == 1:
        return "About an hour"
    if h < 48:
        return f"{h} hours"
    if h < 24 * 7 * 2:
        return f"{h // 24} days"
    if h < 24 * 30 * 2:
        return f"{h // 24 // 7} weeks"
    if h < 24 * 365 * 2:
        return f"{h // 24 // 30} months"
    return f"{h // 24 // 365} years"


def ago(rfc: str) -> str:
    """"5 minutes ago", or N/A for an unknown time (Docker's CREATED column)."""
    t = parse_time(rfc)
    return human_duration(time.time() - t) + " ago" if t else "N/A"
