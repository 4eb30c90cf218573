"""Parsing of Docker's human units: --memory 512m, --cpus 1.5, --pids-limit."""

from __future__ import annotations

import functools
import re

from sampan.errors import InvalidArgument


@functools.cache
def _mem_re() -> re.Pattern[str]:
    """Compiled on first use (only `--memory` needs it), not on every `run`'s import."""
    return re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([bkmgt]?)b?\s*$", re.IGNORECASE)


_MULT = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


def parse_bytes(value: str, flag: str = "--memory") -> int:
    """Docker's RAMInBytes: binary units, optional trailing b (512m, 1g, 1.5G, 100kb)."""
    m = _mem_re().match(value)
    if not m:
        raise InvalidArgument(f"invalid value {value!r} for {flag}: expected a size such as 512m or 2g")
    n = int(float(m.group(1)) * _MULT[m.group(2).lower()])
    return n


def parse_memory(value: str) -> int:
    n = parse_bytes(value, "--memory")
    if n < 6 * 1024 * 1024:
        raise InvalidArgument(f"invalid value {value!r} for --memory: the minimum is 6m")
    return n


CPU_PERIOD = 100_000


def parse_cpus(value: str) -> int:
    """Return the CFS quota (µs per 100 ms period) for --cpus."""
    try:
        cpus = float(value)
    except ValueError:
        raise InvalidArgument(f"invalid value {value!r} for --cpus: expected a number such as 1.5") from None
    if not (0.01 <= cpus <= 1024):
        raise InvalidArgument(f"invalid value {value!r} for --cpus: must be between 0.01 and 1024")
    return int(round(cpus * CPU_PERIOD))


def parse_pids_limit(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise InvalidArgument(f"invalid value {value!r} for --pids-limit: expected a whole number") from None
    if n == 0 or n < -1:
        raise InvalidArgument(f"invalid value {value!r} for --pids-limit: must be positive, or -1 for unlimited")
    return n
