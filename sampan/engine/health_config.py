"""A container's healthcheck config: Docker's HealthConfig, merged from the image's and the
user's, checked, with Docker's defaults for what is left at zero."""

from __future__ import annotations

import re

from sampan.errors import InvalidArgument

SECOND = 1_000_000_000
# Docker's defaults for fields left at 0
DEFAULTS = {"Interval": 30 * SECOND, "Timeout": 30 * SECOND, "StartPeriod": 0,
            "StartInterval": 5 * SECOND, "Retries": 3}
DURATIONS = ("Interval", "Timeout", "StartPeriod", "StartInterval")
FLAGS = {"Interval": "--health-interval", "Timeout": "--health-timeout", "Retries": "--health-retries",
         "StartPeriod": "--health-start-period", "StartInterval": "--health-start-interval"}
MIN_DURATION = 1_000_000  # 1 ms, as Docker's

_UNIT_NS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000, "s": SECOND,
            "m": 60 * SECOND, "h": 3600 * SECOND}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


def parse_duration(text: str, flag: str) -> int:
    """Go's time.ParseDuration ("1m30s", "500ms", "0") -> nanoseconds."""
    s = text.strip()
    sign = -1 if s.startswith("-") else 1
    body = s.lstrip("+-")
    if body == "0":
        return 0
    pos, total = 0, 0.0
    while pos < len(body):
        m = _PART.match(body, pos)
        if not m:
            raise InvalidArgument(f'invalid argument "{text}" for "{flag}" flag: time: invalid duration "{text}"')
        total += float(m.group(1)) * _UNIT_NS[m.group(2)]
        pos = m.end()
    if not body:
        raise InvalidArgument(f'invalid argument "{text}" for "{flag}" flag: time: invalid duration "{text}"')
    return sign * int(total)


def _value(key: str, v) -> int:
    if isinstance(v, str) and key in DURATIONS:
        return parse_duration(v, FLAGS[key])
    if isinstance(v, str) and key == "Retries":
        try:
            return int(v)
        except ValueError:
            raise InvalidArgument(f'invalid argument "{v}" for "--health-retries" flag') from None
    if not isinstance(v, int) or isinstance(v, bool):
        raise InvalidArgument(f"Healthcheck.{key} must be an integer (nanoseconds)")
    return v


def merge(asked: dict | None, image: dict | None) -> dict | None:
    """The user's config over the image's, field by field (Docker's merge); None when the
    result has no test or says NONE."""
    out = dict(image or {})
    for key, v in (asked or {}).items():
        if key == "Test":
            if v:
                out["Test"] = v
        elif key in FLAGS:
            n = _value(key, v)
            if n:
                out[key] = n
    for key in FLAGS:
        if key in out:
            out[key] = _value(key, out[key])
    return check(out)


def check(config: dict) -> dict | None:
    test = config.get("Test") or []
    if not isinstance(test, list) or not all(isinstance(t, str) for t in test):
        raise InvalidArgument("Healthcheck.Test must be a list of strings")
    if not test or test[0] == "NONE":
        return None
    if test[0] not in ("CMD", "CMD-SHELL") or len(test) < 2:
        raise InvalidArgument(f"invalid Healthcheck.Test {test!r}: give [\"CMD\", prog, args...], "
                              "[\"CMD-SHELL\", command] or [\"NONE\"]")
    for key in DURATIONS:
        n = config.get(key, 0)
        if n < 0:
            raise InvalidArgument(f"{FLAGS[key]} cannot be negative")
        if 0 < n < MIN_DURATION:
            raise InvalidArgument(f"{key} in Healthcheck cannot be less than 1ms")
    if config.get("Retries", 0) < 0:
        raise InvalidArgument("--health-retries cannot be negative")
    return {k: config[k] for k in ("Test", *FLAGS) if config.get(k)}


def effective(config: dict) -> dict:
    """The config with Docker's defaults for the fields left at zero."""
    return {**DEFAULTS, **{k: v for k, v in config.items() if v}}
