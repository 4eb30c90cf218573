"""Build output in BuildKit's plain style: `#N [stage 2/5] RUN ...`, streamed output, timings.

`plain` writes lines as they come; `quiet` writes nothing (the caller prints
the image id); `auto` is the live view (progress_tty) on a terminal, else plain.
"""

from __future__ import annotations

import time
from typing import Callable, TextIO


class Progress:
    def __init__(self, write: Callable[[str], None] | None, quiet: bool = False):
        self._write = write
        self.quiet = quiet or write is None
        self._n = 0
        self._started: dict[int, float] = {}
        self._partial: dict[int, bytes] = {}
        self._t0 = time.monotonic()

    def _emit(self, text: str) -> None:
        if not self.quiet and self._write is not None:
            self._write(text)

    def start(self, title: str) -> int:
        self._n += 1
        self._started[self._n] = time.monotonic()
        self._emit(f"#{self._n} {title}\n")
        return self._n

    def log(self, n: int, data: bytes) -> None:
        buf = self._partial.get(n, b"") + data
        *lines, rest = buf.split(b"\n")
        self._partial[n] = rest
        elapsed = time.monotonic() - self._started.get(n, self._t0)
        for line in lines:
            self._emit(f"#{n} {elapsed:.3f} {line.decode(errors='replace')}\n")

    def _flush(self, n: int) -> None:
        rest = self._partial.pop(n, b"")
        if rest:
            self.log(n, rest + b"\n")
            self._partial.pop(n, None)

    def note(self, n: int, text: str) -> None:
        self._emit(f"#{n} {text}\n")

    def done(self, n: int) -> None:
        self._flush(n)
        self._emit(f"#{n} DONE {time.monotonic() - self._started.get(n, self._t0):.1f}s\n\n")

    def cached(self, n: int) -> None:
        self._emit(f"#{n} CACHED\n\n")

    def error(self, n: int, message: str) -> None:
        self._flush(n)
        self._emit(f"#{n} ERROR: {message}\n")

    def block(self, text: str) -> None:
        self._emit(text if text.endswith("\n") else text + "\n")

    def close(self) -> None:
        """End of the build (the live view stops; plain output has nothing to do)."""


def make_progress(mode: str, stream: TextIO | None) -> Progress:
    """mode: auto | plain | quiet (`-q` is quiet)."""
    if mode not in ("auto", "plain", "quiet", "tty"):
        from sampan.errors import InvalidArgument

        raise InvalidArgument(f"invalid --progress {mode!r}: use auto, plain or quiet")
    if mode == "quiet" or stream is None:
        return Progress(None, quiet=True)
    if mode == "tty" or (mode == "auto" and stream.isatty()):
        from sampan.build.progress_tty import TTYProgress

        return TTYProgress(stream)

    def write(text: str) -> None:
        stream.write(text)
        stream.flush()

    return Progress(write)
