"""finish.py's late attach clients: those queued on the container's socket after its pump
stopped accepting are each told the exit; the socket's path goes first, so a client after
that finds no monitor (a stopped container) instead of waiting in a backlog nobody reads."""

import json
import socket

import pytest

from sampan.engine import attach, finish


class _Ctx:
    def __init__(self, path: str) -> None:
        self.path = path

    def attach_socket(self, cid: str) -> str:
        return self.path


def test_queued_clients_are_told_the_exit_and_later_ones_find_no_socket(tmp_path):
    path = str(tmp_path / "a.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(8)
    queued = [attach.connect(path) for _ in range(2)]
    late = finish._late_clients(_Ctx(path), "c", listener)  # type: ignore[arg-type]
    with pytest.raises(FileNotFoundError):
        attach.connect(path)
    finish._tell(late, {"exit_code": 3, "oom_killed": False})
    for c in queued:
        frames = attach.FrameReader().feed(c.recv(4096))
        assert frames == [(attach.EXIT, json.dumps({"exit_code": 3, "oom_killed": False}, separators=(",", ":")).encode())]
        assert c.recv(4096) == b""  # and the monitor's end closes it
        c.close()
    assert listener.fileno() == -1  # closed: nothing more queues on it


def test_no_listener_no_late_clients(tmp_path):
    assert finish._late_clients(_Ctx(str(tmp_path / "none.sock")), "c", None) == []  # type: ignore[arg-type]


def test_a_flood_of_silent_or_vanished_clients_never_holds_the_finish(tmp_path):
    """Hostile clients: the backlog filled by ones that never read, and ones that left before
    they were accepted. finish accepts what is queued, tells each what it can, and goes on."""
    path = str(tmp_path / "a.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(8)
    clients = []
    while True:  # until the backlog is full
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.setblocking(False)
        try:
            c.connect(path)
        except BlockingIOError:
            c.close()
            break
        clients.append(c)
        if len(clients) > 64:
            break
    for c in clients[::2]:
        c.close()  # gone before the monitor got to them
    late = finish._late_clients(_Ctx(path), "c", listener)  # type: ignore[arg-type]
    assert len(late) == len(clients)
    finish._tell(late, {"exit_code": 0, "oom_killed": False})  # no error, no wait
    assert all(c.fileno() == -1 for c in late)
    for c in clients[1::2]:
        c.close()
