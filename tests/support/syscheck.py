"""A tiny static checker for syscalls, compiled at test time (gcc -static), run in containers.

syscheck.c prints "NAME ERRNO" per syscall it tries (0: it worked); its arguments make
a syscall that a filter lets through fail with anything but EPERM.
"""

from __future__ import annotations

import errno
import shutil
import subprocess
from pathlib import Path

import pytest

SOURCE = Path(__file__).with_name("syscheck.c")


def build(directory: Path) -> Path:
    """directory/syscheck, or skip the test when there is no compiler for a static binary."""
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed: cannot build the syscall checker")
    out = directory / "syscheck"
    p = subprocess.run(["gcc", "-static", "-O1", "-o", str(out), str(SOURCE)], capture_output=True, text=True)
    if p.returncode != 0:
        pytest.skip(f"cannot build a static binary here: {p.stderr.strip().splitlines()[-1:]}")
    return out


def parse(output: str) -> dict[str, int]:
    """{"bpf": errno.EPERM, ...} from the checker's lines (other lines ignored)."""
    result = {}
    for line in output.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("-").isdigit():
            result[parts[0]] = int(parts[1])
    return result


def name(err: int) -> str:
    return "ok" if err == 0 else errno.errorcode.get(err, str(err))
