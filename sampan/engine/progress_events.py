"""A registry progress sink that hands typed ProgressEvents to a callback.

pull and push call the sink from several download/upload threads: one lock keeps
the callback from being entered twice at once (the API server's callback writes
frames on a socket). Byte counts are reported every STEP bytes, not per chunk.
"""

from __future__ import annotations

import threading
from typing import Callable

from sampan.engine.reports import ProgressEvent

STEP = 512 << 10


class EventSink:
    def __init__(self, emit: Callable[[ProgressEvent], None], moving: str) -> None:
        self._emit = emit
        self._moving = moving          # "Downloading" or "Pushing"
        self._lock = threading.Lock()
        self._bytes: dict[str, list] = {}   # key -> [current, total, last reported]

    def _send(self, ev: ProgressEvent) -> None:
        with self._lock:
            self._emit(ev)

    def begin(self, key: str, total: int | None) -> None:
        self._bytes[key] = [0, total, 0]
        self._send(ProgressEvent("Waiting" if self._moving == "Downloading" else "Preparing", key))

    def advance(self, key: str, n: int) -> None:
        state = self._bytes.setdefault(key, [0, None, 0])
        state[0] += n
        if state[0] - state[2] >= STEP or (state[1] and state[0] >= state[1]):
            state[2] = state[0]
            self._send(ProgressEvent(self._moving, key, state[0], state[1]))

    def end(self, key: str, status: str) -> None:
        self._bytes.pop(key, None)
        self._send(ProgressEvent(status, key))

    def message(self, text: str) -> None:
        self._send(ProgressEvent(text))

    def close(self) -> None:
        pass
