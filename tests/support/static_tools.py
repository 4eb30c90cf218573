"""Tiny static checker programs to run inside busybox containers (bind-mounted), built with
the host's C compiler when there is one."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

HERE = Path(__file__).parent


def build(name: str, out_dir: Path) -> Path | None:
    """Compile tests/support/NAME.c statically into out_dir/NAME; None without gcc or libc.a."""
    gcc = shutil.which("gcc")
    if gcc is None:
        return None
    out = out_dir / name
    r = subprocess.run([gcc, "-static", "-O2", "-o", str(out), str(HERE / f"{name}.c")],
                       capture_output=True, timeout=120)
    return out if r.returncode == 0 else None
