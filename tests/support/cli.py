"""Drive the real `sampan` command as a user would, against a private state root."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

SAMPAN = [sys.executable, "-m", "sampan"]


@dataclass
class Result:
    rc: int
    out: str
    err: str


class Sampan:
    def __init__(self, root: Path, runroot: Path, runtime: str | None = None, zygote: bool = False):
        self.root, self.runroot, self.runtime, self.zygote = root, runroot, runtime, zygote

    def env(self) -> dict:
        """Tests run each command in its own process: no zygote (tests/integration/engine/
        test_zygote.py covers that path), so no warm process outlives a test."""
        env = dict(os.environ)
        if self.zygote:
            env.pop("SAMPAN_NO_ZYGOTE", None)
        else:
            env["SAMPAN_NO_ZYGOTE"] = "1"
        return env

    def argv(self, *args: str) -> list[str]:
        g = ["--root", str(self.root), "--runroot", str(self.runroot)]
        if self.runtime:
            g += ["--runtime", self.runtime]
        return SAMPAN + g + list(args)

    def __call__(self, *args: str, input: bytes | None = None, timeout: float = 60,
                 check: bool = False) -> Result:
        p = subprocess.run(self.argv(*args), input=input, capture_output=True, timeout=timeout,
                           stdin=None if input is not None else subprocess.DEVNULL, env=self.env())
        r = Result(p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace"))
        if check and r.rc != 0:
            raise AssertionError(f"sampan {' '.join(args)} failed ({r.rc}): {r.err}")
        return r

    def ok(self, *args: str, **kw) -> str:
        return self(*args, check=True, **kw).out

    def cleanup(self) -> None:
        """Remove every container (so no monitor or mount outlives the test)."""
        ids = self("ps", "-aq", "--no-trunc").out.split()
        if ids:
            self("rm", "-f", *ids)
