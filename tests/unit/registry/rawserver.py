"""A registry that answers with raw bytes chosen by the test: hostile answers the stdlib
transport (registry/transport.py) must survive. Keep-alive, one thread per connection."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable

PING = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        b"Docker-Distribution-Api-Version: registry/2.0\r\nContent-Length: 2\r\n\r\n{}")

# answer(path, headers, sock) -> True to keep the connection for another request
Answer = Callable[[str, dict, socket.socket], bool]


class RawServer:
    def __init__(self, answer: Answer):
        self.answer = answer
        self.requests: list[tuple[str, str, dict]] = []      # (method, path, headers)
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.host = f"127.0.0.1:{self._sock.getsockname()[1]}"
        self._stop = False
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> "RawServer":
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop = True
        self._sock.close()
        for t in self._threads:
            t.join(5)

    def _accept(self) -> None:
        while not self._stop:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(t)
            t.start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        buf = b""
        try:
            while not self._stop:
                while b"\r\n\r\n" not in buf:
                    data = conn.recv(65536)
                    if not data:
                        return
                    if not buf and data[:1] == b"\x16":     # a TLS ClientHello: not us
                        conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                        return
                    buf += data
                head, _, buf = buf.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path = lines[0].split(" ")[:2]
                headers = {k.strip().lower(): v.strip() for k, _, v in
                           (line.partition(":") for line in lines[1:])}
                self.requests.append((method, path, headers))
                if path == "/v2/" and not getattr(self.answer, "answers_ping", False):
                    conn.sendall(PING)
                    continue
                if not self.answer(path, headers, conn):
                    return
        except OSError:
            pass
        finally:
            conn.close()
