"""Messages between the runtime and the child it forked: one JSON object per
SOCK_SEQPACKET datagram, optionally carrying a file descriptor (the pty master).

The child end is CLOEXEC, so the parent sees EOF once the command is exec'd
or the child dies.
"""

from __future__ import annotations

import json
import os
import socket

import sampan.errors as errors

MAX = 65536


def pair() -> tuple[socket.socket, socket.socket]:
    return socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)


def send(sock: socket.socket, msg: dict, fd: int | None = None) -> None:
    data = json.dumps(msg).encode()
    if fd is None:
        sock.send(data)
    else:
        socket.send_fds(sock, [data], [fd])


def recv(sock: socket.socket) -> tuple[dict | None, int | None]:
    """(message, fd) or (None, None) at EOF."""
    data, fds, _, _ = socket.recv_fds(sock, MAX, 1)
    if not data:
        for fd in fds:
            os.close(fd)
        return None, None
    return json.loads(data), (fds[0] if fds else None)


def error_message(exc: BaseException, step: str) -> dict:
    """Describe a child-side failure in one line, keeping the error's class for the parent."""
    if isinstance(exc, errors.SampanError):
        return {"type": "error", "kind": type(exc).__name__, "msg": exc.message}
    if isinstance(exc, OSError):
        detail = exc.strerror or str(exc)
        if exc.filename:
            detail = f"{detail}: {exc.filename}"
        return {"type": "error", "kind": "RuntimeFailure", "msg": f"{step}: {detail}"}
    return {"type": "error", "kind": "RuntimeFailure", "msg": f"{step}: {type(exc).__name__}: {exc}"}


def raise_error(msg: dict) -> None:
    cls = getattr(errors, msg.get("kind", ""), None)
    if not (isinstance(cls, type) and issubclass(cls, errors.SampanError)):
        cls = errors.RuntimeFailure
    raise cls(msg.get("msg") or "container setup failed")
