"""Per-layer progress: rich bars on a TTY, plain lines otherwise, or nothing.

pull/push take ``progress``: None (choose by whether stderr is a TTY), False (silent),
or any object with these methods (the engine's API server passes its own, to stream
Docker-style JSON messages).
"""

from __future__ import annotations

import sys
import threading
from typing import TYPE_CHECKING, Protocol, TextIO

if TYPE_CHECKING:
    from rich.progress import TaskID


class ProgressSink(Protocol):
    def begin(self, key: str, total: int | None) -> None: ...
    def advance(self, key: str, n: int) -> None: ...
    def end(self, key: str, status: str) -> None: ...
    def message(self, text: str) -> None: ...
    def close(self) -> None: ...


class SilentProgress:
    def begin(self, key: str, total: int | None) -> None: pass
    def advance(self, key: str, n: int) -> None: pass
    def end(self, key: str, status: str) -> None: pass
    def message(self, text: str) -> None: pass
    def close(self) -> None: pass


class PlainProgress:
    """One line per event, as `docker pull` prints when not on a terminal."""

    def __init__(self, stream: TextIO):
        self.stream = stream
        self._lock = threading.Lock()

    def _line(self, text: str) -> None:
        with self._lock:
            self.stream.write(text + "\n")
            self.stream.flush()

    def begin(self, key: str, total: int | None) -> None:
        pass

    def advance(self, key: str, n: int) -> None:
        pass

    def end(self, key: str, status: str) -> None:
        self._line(f"{key}: {status}")

    def message(self, text: str) -> None:
        self._line(text)

    def close(self) -> None:
        pass


class RichProgress:
    """A bar per layer. rich is imported only here, only when there is a TTY."""

    def __init__(self, stream: TextIO):
        from rich.console import Console
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

        self._p = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                           TextColumn("{task.fields[status]}"),
                           console=Console(file=stream), transient=False)
        self._tasks: dict[str, TaskID] = {}
        self._lock = threading.Lock()
        self._p.start()

    def begin(self, key: str, total: int | None) -> None:
        with self._lock:
            self._tasks[key] = self._p.add_task(key, total=total, status="")

    def advance(self, key: str, n: int) -> None:
        tid = self._tasks.get(key)
        if tid is not None:
            self._p.advance(tid, n)

    def end(self, key: str, status: str) -> None:
        with self._lock:
            tid = self._tasks.get(key)
            if tid is None:
                tid = self._tasks[key] = self._p.add_task(key, total=1, status="")
            task = self._p.tasks[[t.id for t in self._p.tasks].index(tid)]
            self._p.update(tid, completed=task.total or 1, status=status)

    def message(self, text: str) -> None:
        self._p.console.print(text)

    def close(self) -> None:
        self._p.stop()


def make_progress(progress: object = None, stream: TextIO | None = None) -> ProgressSink:
    if progress is False:
        return SilentProgress()
    if progress is not None and progress is not True:
        return progress  # type: ignore[return-value]
    stream = stream or sys.stderr
    if stream.isatty():
        return RichProgress(stream)
    return PlainProgress(stream)


def short(digest: str) -> str:
    """The 12-hex form Docker prints for layers."""
    return digest.split(":", 1)[-1][:12]
