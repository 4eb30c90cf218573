"""The build's progress as typed BuildEvents to a callback (the API server's), in place
of the CLI's text views (build/progress.py, progress_tty.py)."""

from __future__ import annotations

import time
from typing import Callable

from sampan.build.progress import Progress
from sampan.engine.reports import BuildEvent


class EventProgress(Progress):
    def __init__(self, emit: Callable[[BuildEvent], None]) -> None:
        super().__init__(None, quiet=True)
        self._send = emit

    def start(self, title: str) -> int:
        n = super().start(title)
        self._send(BuildEvent("step", n, title))
        return n

    def log(self, n: int, data: bytes) -> None:
        *lines, self._partial[n] = (self._partial.get(n, b"") + data).split(b"\n")
        for line in lines:
            self._send(BuildEvent("output", n, line.decode(errors="replace")))

    def _flush(self, n: int) -> None:
        rest = self._partial.pop(n, b"")
        if rest:
            self._send(BuildEvent("output", n, rest.decode(errors="replace")))

    def note(self, n: int, text: str) -> None:
        self._send(BuildEvent("note", n, text))

    def done(self, n: int) -> None:
        self._flush(n)
        self._send(BuildEvent("done", n, seconds=time.monotonic() - self._started.get(n, self._t0)))

    def cached(self, n: int) -> None:
        self._send(BuildEvent("cached", n))

    def error(self, n: int, message: str) -> None:
        self._flush(n)
        self._send(BuildEvent("error", n, message))

    def block(self, text: str) -> None:
        self._send(BuildEvent("message", 0, text))
