"""Messages between the runtime and the child it forked: one JSON object per
SOCK_SEQPACKET datagram, optionally carrying a file descriptor (the pty master).

The child end is CLOEXEC, so the parent sees EOF once the command is exec'd
or the child dies. Built on _socket directly: socket.py pulls in selectors and
friends, which the start path does not need.
"""

from __future__ import annotations

import _socket
import array
import json
import os

import sampan.errors as errors

MAX = 65536


def pair() -> tuple[_socket.socket, _socket.socket]:
    a, b = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_SEQPACKET | _socket.SOCK_CLOEXEC)
    return a, b


def send(sock, msg: dict, fd: int | None = None) -> None:
    data = json.dumps(msg).encode()
    ancillary = [] if fd is None else [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, array.array("i", [fd]))]
    sock.sendmsg([data], ancillary)


def recv(sock) -> tuple[dict | None, int | None]:
    """(message, fd) or (None, None) at EOF."""
    data, ancdata, _, _ = sock.recvmsg(MAX, _socket.CMSG_SPACE(array.array("i").itemsize), _socket.MSG_CMSG_CLOEXEC)
    fds = array.array("i")
    for level, kind, payload in ancdata:
        if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
            fds.frombytes(payload[: len(payload) - (len(payload) % fds.itemsize)])
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
