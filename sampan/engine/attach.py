"""The attach protocol between a container's monitor and a CLI, over a unix socket.

Frames are: 1 byte type, 4 bytes big-endian length, payload. The monitor
sends STDOUT/STDERR output and finally EXIT (payload: JSON exit info); the
client sends STDIN data, STDIN_EOF, RESIZE (rows, cols) and SIGNAL (number).
"""

from __future__ import annotations

import struct

STDIN, STDOUT, STDERR, EXIT, STDIN_EOF, RESIZE, SIGNAL, READY = range(8)

_HDR = struct.Struct(">BI")
MAX_FRAME = 1 << 20


def encode(kind: int, payload: bytes = b"") -> bytes:
    return _HDR.pack(kind, len(payload)) + payload


class FrameReader:
    """Incremental decoder: feed bytes, get complete frames."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        self._buf += data
        frames = []
        while len(self._buf) >= _HDR.size:
            kind, n = _HDR.unpack_from(self._buf)
            if n > MAX_FRAME:
                raise ValueError("attach frame too large")
            if len(self._buf) < _HDR.size + n:
                break
            frames.append((kind, bytes(self._buf[_HDR.size:_HDR.size + n])))
            del self._buf[:_HDR.size + n]
        return frames


def resize_payload(rows: int, cols: int) -> bytes:
    return struct.pack(">HH", rows, cols)


def parse_resize(payload: bytes) -> tuple[int, int]:
    return struct.unpack(">HH", payload[:4])


def connect(path: str, timeout: float = 5.0):
    import socket
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    s.settimeout(timeout)
    s.connect(path)
    s.settimeout(None)
    return s
