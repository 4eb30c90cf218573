"""Parsing of Docker's human units: --memory 512m, --cpus 1.5, --pids-limit."""

from __future__ import annotations

import functools
import re

from sampan.errors import InvalidArgument


@functools.cache
def _mem_re() -> re.Pattern[str]:
    """Compiled on first use (only `--memory` needs it), not on every `run`'s import."""
    return re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([bkmgt]?)b?\s*$", re.IGNORECASE | re.ASCII)


_MULT = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
# Docker's flags are Go int64s, and the kernel parses sizes into 64 bits (wrapping silently
# past them: --memory 99999999999999999999999 became a limit of ~178 PiB).
INT64_MAX = 2**63 - 1


def shown(value: str) -> str:
    """A user's value, quoted and cut short: an error message stays one readable line."""
    return repr(value if len(value) <= 40 else value[:37] + "...")


def parse_bytes(value: str, flag: str = "--memory") -> int:
    """Docker's RAMInBytes: binary units, optional trailing b (512m, 1g, 1.5G, 100kb).
    Exact integer arithmetic: a float would round big values and overflow huge ones."""
    m = _mem_re().match(value)
    if not m:
        raise InvalidArgument(f"invalid value {shown(value)} for {flag}: expected a size such as 512m or 2g")
    whole, _, frac = m.group(1).partition(".")
    if len(whole.lstrip("0")) > 19:
        raise _too_large(value, flag, INT64_MAX)
    mult = _MULT[m.group(2).lower()]
    frac = frac[:19]
    n = int(whole) * mult + (int(frac) * mult // 10 ** len(frac) if frac else 0)
    if n > INT64_MAX:
        raise _too_large(value, flag, INT64_MAX)
    return n


def parse_int(value: str, flag: str, minimum: int, maximum: int = INT64_MAX) -> int:
    """A whole number in [minimum, maximum], ASCII digits only ('²' is a digit to
    str.isdigit but not to int)."""
    text = value.strip()
    digits = text[1:] if text[:1] in "+-" else text
    if not digits or not digits.isascii() or not digits.isdigit():
        raise InvalidArgument(f"invalid value {shown(value)} for {flag}: expected a whole number")
    if len(digits.lstrip("0")) > 19:
        raise _too_large(value, flag, maximum) if text[0] != "-" else _too_small(value, flag, minimum)
    n = int(text)
    if n > maximum:
        raise _too_large(value, flag, maximum)
    if n < minimum:
        raise _too_small(value, flag, minimum)
    return n


def _too_large(value: str, flag: str, maximum: int) -> InvalidArgument:
    return InvalidArgument(f"invalid value {shown(value)} for {flag}: too large (at most {maximum})")


def _too_small(value: str, flag: str, minimum: int) -> InvalidArgument:
    return InvalidArgument(f"invalid value {shown(value)} for {flag}: too small (at least {minimum})")


def parse_memory(value: str) -> int:
    n = parse_bytes(value, "--memory")
    if n < 6 * 1024 * 1024:
        raise InvalidArgument(f"invalid value {shown(value)} for --memory: the minimum is 6m")
    return n


CPU_PERIOD = 100_000


def parse_cpus(value: str) -> int:
    """Return the CFS quota (µs per 100 ms period) for --cpus."""
    try:
        cpus = float(value)
    except ValueError:
        raise InvalidArgument(f"invalid value {shown(value)} for --cpus: expected a number such as 1.5") from None
    if not (0.01 <= cpus <= 1024):
        raise InvalidArgument(f"invalid value {shown(value)} for --cpus: must be between 0.01 and 1024")
    return int(round(cpus * CPU_PERIOD))


# The kernel's PID_MAX_LIMIT: pids.max refuses anything above it.
PIDS_MAX = 4 * 1024 * 1024


def parse_pids_limit(value: str) -> int:
    n = parse_int(value, "--pids-limit", -1, PIDS_MAX)
    if n == 0:
        raise InvalidArgument(f"invalid value {shown(value)} for --pids-limit: must be positive, or -1 for unlimited")
    return n


_TMPFS_MULT = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50, "e": 1 << 60}


def check_tmpfs_option(option: str, spec: str) -> None:
    """tmpfs parses size= and nr_inodes= into 64 bits and wraps past them: refuse instead.
    The kernel's syntax: a number with k, m, g, t, p or e, or (size) a percentage."""
    key, eq, value = option.partition("=")
    if not eq or key not in ("size", "nr_inodes"):
        return
    flag = f"--tmpfs {spec.partition(':')[0]} {key}"
    percent = key == "size" and value.endswith("%")
    unit = value[-1:].lower() if value[-1:].isalpha() else ""
    digits = value[:-1] if percent or unit else value
    if not (digits.isascii() and digits.isdigit()) or unit not in _TMPFS_MULT:
        raise InvalidArgument(f"invalid value {shown(value)} for {flag}: expected a number with "
                              "k, m, g, t, p or e" + (", or a percentage" if key == "size" else ""))
    if len(digits.lstrip("0")) > 19 or int(digits) * _TMPFS_MULT[unit] > INT64_MAX:
        raise _too_large(value, flag, INT64_MAX)


MIN_MEMORY = 6 * 1024 * 1024


def parse_memory_swap(value: str, memory: int | None) -> int:
    """--memory-swap, as Docker: memory plus swap in bytes, -1 for unlimited swap; it needs
    --memory and cannot be below it."""
    n = -1 if value.strip() == "-1" else parse_bytes(value, "--memory-swap")
    if memory is None:
        raise InvalidArgument("--memory-swap needs --memory: it is the limit of memory plus swap")
    if n != -1 and n < memory:
        raise InvalidArgument(f"invalid value {shown(value)} for --memory-swap: it is memory plus swap, "
                              f"so it cannot be smaller than --memory ({memory} bytes); -1 for unlimited swap")
    return n


def parse_memory_reservation(value: str, memory: int | None) -> int:
    n = parse_bytes(value, "--memory-reservation")
    if n < MIN_MEMORY:
        raise InvalidArgument(f"invalid value {shown(value)} for --memory-reservation: the minimum is 6m")
    if memory is not None and n > memory:
        raise InvalidArgument(f"invalid value {shown(value)} for --memory-reservation: "
                              f"it cannot be above --memory ({memory} bytes)")
    return n


def parse_cpu_shares(value: str) -> int:
    """The v1 cpu.shares range; the kernel would clamp anything outside it silently."""
    return parse_int(value, "--cpu-shares", 2, 262144)


def parse_blkio_weight(value: str) -> int:
    return parse_int(value, "--blkio-weight", 10, 1000)


def _ascii_digits(s: str) -> bool:
    return s.isascii() and s.isdigit()


def parse_id_list(text: str) -> set[int] | None:
    """'0-2,5' -> {0, 1, 2, 5}; None when it is not such a list."""
    out: set[int] = set()
    for part in text.strip().split(","):
        lo, dash, hi = part.partition("-")
        if not _ascii_digits(lo) or (dash and not _ascii_digits(hi)) or len(part) > 12:
            return None
        a, b = int(lo), int(hi) if dash else int(lo)
        if b < a or b > 65535:
            return None
        out.update(range(a, b + 1))
    return out


def parse_cpuset(value: str, flag: str, online_file: str) -> str:
    """--cpuset-cpus / --cpuset-mems: a list such as 0-1,3, every entry online on this host."""
    wanted = parse_id_list(value)
    if wanted is None:
        raise InvalidArgument(f"invalid value {shown(value)} for {flag}: expected a list such as 0-1,3")
    try:
        with open(online_file) as f:
            online_text = f.read().strip()
    except OSError:
        online_text = "0"  # no NUMA node directory: one memory node
    online = parse_id_list(online_text) or {0}
    missing = sorted(wanted - online)
    if missing:
        what = "CPU" if flag.endswith("cpus") else "memory node"
        raise InvalidArgument(f"invalid value {shown(value)} for {flag}: {what} {missing[0]} is not available "
                              f"on this host (online: {online_text})")
    return value.strip()


CPUS_ONLINE = "/sys/devices/system/cpu/online"
MEMS_ONLINE = "/sys/devices/system/node/online"
