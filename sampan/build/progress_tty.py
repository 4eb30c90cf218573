"""The live build view for a terminal (rich), like BuildKit's tty mode.

Only imported when stdout is a TTY and --progress=auto|tty: rich costs ~45 ms.
Shows every step with its timer; the running step shows its last output lines.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import TextIO

from sampan.build.progress import Progress

_TAIL = 6


@dataclass
class _Step:
    title: str
    start: float
    end: float | None = None
    status: str = "running"  # running | done | cached | error
    tail: deque = field(default_factory=lambda: deque(maxlen=_TAIL))
    partial: bytes = b""


class TTYProgress(Progress):
    def __init__(self, stream: TextIO):
        super().__init__(None, quiet=True)
        from rich.console import Console
        from rich.live import Live

        self.console = Console(file=stream, highlight=False)
        self.steps: dict[int, _Step] = {}
        self._messages: list[str] = []
        self._t0 = time.monotonic()
        self._live = Live(console=self.console, refresh_per_second=8, transient=False,
                          get_renderable=self._render)
        self._live.start()

    def _render(self):
        from rich.text import Text

        now = time.monotonic()
        done = sum(1 for s in self.steps.values() if s.status != "running")
        out = Text()
        out.append(f"[+] Building {now - self._t0:.1f}s ({done}/{len(self.steps)})\n", style="bold")
        for s in self.steps.values():
            took = (s.end or now) - s.start
            style = {"error": "red", "running": "cyan", "cached": "blue"}.get(s.status, "")
            prefix = "=> CACHED " if s.status == "cached" else ("=> ERROR " if s.status == "error" else "=> ")
            out.append(f"{prefix}{s.title}", style=style)
            out.append(f"  {took:.1f}s\n" if s.status != "cached" else "\n", style="dim")
            if s.status in ("running", "error"):
                for line in s.tail:
                    out.append(f" => {line}\n", style="dim")
        for m in self._messages:
            out.append(m + "\n", style="yellow")
        return out

    def start(self, title: str) -> int:
        self._n += 1
        self.steps[self._n] = _Step(title, time.monotonic())
        return self._n

    def log(self, n: int, data: bytes) -> None:
        s = self.steps[n]
        *lines, s.partial = (s.partial + data).split(b"\n")
        for line in lines:
            s.tail.append(line.decode(errors="replace"))

    def note(self, n: int, text: str) -> None:
        self.steps[n].tail.append(text)

    def _finish(self, n: int, status: str) -> None:
        s = self.steps[n]
        if s.partial:
            s.tail.append(s.partial.decode(errors="replace"))
            s.partial = b""
        s.status, s.end = status, time.monotonic()

    def done(self, n: int) -> None:
        self._finish(n, "done")

    def cached(self, n: int) -> None:
        self._finish(n, "cached")

    def error(self, n: int, message: str) -> None:
        self._finish(n, "error")
        self.steps[n].tail.append(message)

    def block(self, text: str) -> None:
        self._messages.append(text.rstrip("\n"))

    def close(self) -> None:
        for s in self.steps.values():
            if s.status == "running":
                s.status, s.end = "error", time.monotonic()
        self._live.refresh()
        self._live.stop()
