"""Messages between the service and the children it forks: a 4-byte big-endian length,
then a pickle. Used by every call's result channel (children.py) and by the control
channel of a hijacked stream (streams.py). Both ends are the service's own processes."""

from __future__ import annotations

import pickle
import struct

_LEN = struct.Struct(">I")


def pack(msg: tuple) -> bytes:
    data = pickle.dumps(msg, protocol=pickle.HIGHEST_PROTOCOL)
    return _LEN.pack(len(data)) + data


class FrameUnpacker:
    """Messages out of a byte stream, each once it is whole."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, chunk: bytes) -> None:
        self._buf += chunk

    def next(self) -> tuple | None:
        """The next whole message, or None until more bytes come."""
        if len(self._buf) < _LEN.size:
            return None
        (n,) = _LEN.unpack_from(self._buf)
        if len(self._buf) < _LEN.size + n:
            return None
        msg = pickle.loads(bytes(self._buf[_LEN.size:_LEN.size + n]))
        del self._buf[:_LEN.size + n]
        return msg
