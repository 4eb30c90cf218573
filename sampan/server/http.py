"""One client connection: HTTP/1.1 parsed by h11 over a non-blocking socket in asyncio.

A connection carries requests one after another (keep-alive). A handler answers
with a Reply (JSON, bytes or nothing), streams a chunked body (logs -f, pull
progress), or takes the socket over (attach, exec: Docker's "hijack", with
`Upgrade: tcp` answered by 101, or without it by a raw 200 stream).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import tempfile
from typing import Any
from urllib.parse import parse_qs, urlsplit

import h11

from sampan.server.errors import ApiError

JSON_LIMIT = 8 << 20         # a JSON body larger than this is refused (413)
HEADER_LIMIT = 256 << 10     # X-Registry-Config carries every login: allow some room
RAW_STREAM = "application/vnd.docker.raw-stream"
MULTIPLEXED_STREAM = "application/vnd.docker.multiplexed-stream"


class Reply:
    """A whole answer: JSON (any value but bytes and None), raw bytes, or no body."""

    __slots__ = ("status", "body", "content_type", "headers")

    def __init__(self, status: int = 200, body: Any = None, content_type: str | None = None,
                 headers: list[tuple[str, str]] | None = None) -> None:
        self.status, self.body, self.content_type = status, body, content_type
        self.headers = headers or []


def json_reply(body: Any, status: int = 200) -> Reply:
    return Reply(status, body)


class Request:
    def __init__(self, conn: "Connection", method: str, target: str, headers: dict[str, str]) -> None:
        self.conn = conn
        self.method = method
        parts = urlsplit(target)
        self.path = parts.path
        self.query = parse_qs(parts.query, keep_blank_values=True)
        self.headers = headers
        self.params: dict[str, str] = {}
        self.api_version: tuple[int, int] = (0, 0)   # set by the router
        self.body_done = False

    # ---- query parameters, as Docker's clients send them ----
    def q(self, name: str, default: str | None = None) -> str | None:
        v = self.query.get(name)
        return v[-1] if v else default

    def q_list(self, name: str) -> list[str]:
        return self.query.get(name, [])

    def q_bool(self, name: str, default: bool = False) -> bool:
        v = self.q(name)
        if v is None:
            return default
        return v.lower() not in ("", "0", "false", "no")

    def q_int(self, name: str, default: int | None = None) -> int | None:
        v = self.q(name)
        if v is None or v == "":
            return default
        try:
            return int(v)
        except ValueError:
            raise ApiError(400, f"invalid value for {name}: {v!r} is not an integer") from None

    def q_json(self, name: str, default: Any = None) -> Any:
        v = self.q(name)
        if not v:
            return default
        try:
            return json.loads(v)
        except ValueError:
            raise ApiError(400, f"invalid value for {name}: not JSON") from None

    # ---- engine calls, each in a child process (children.py) ----
    async def call(self, fn, *args):
        return await self.conn.children.call(fn, *args)

    def stream(self, fn, *args):
        return self.conn.children.stream(fn, *args)

    # ---- body ----
    async def body(self, limit: int = JSON_LIMIT) -> bytes:
        out = bytearray()
        async for chunk in self.conn.body_chunks():
            out += chunk
            if len(out) > limit:
                raise ApiError(413, f"request body larger than {limit} bytes")
        return bytes(out)

    async def json(self, default: Any = None) -> Any:
        """The body as JSON: `default` when empty; 400 when it is not JSON."""
        data = await self.body()
        if not data.strip():
            return default
        try:
            return json.loads(data)
        except ValueError as e:
            raise ApiError(400, f"invalid JSON in the request body: {e}") from None

    async def spool(self, directory: str) -> str:
        """The body into a new file in `directory` (a build context, an image archive): its
        path. The caller removes it."""
        fd, path = tempfile.mkstemp(prefix="api-body-", dir=directory)
        try:
            async for chunk in self.conn.body_chunks():
                view = memoryview(chunk)
                while view:
                    view = view[os.write(fd, view):]
        except BaseException:
            os.close(fd)
            os.unlink(path)
            raise
        os.close(fd)
        return path

    def wants_upgrade(self) -> bool:
        return "upgrade" in self.headers.get("connection", "").lower() and "upgrade" in self.headers


class Stream:
    """A chunked response body being sent."""

    def __init__(self, conn: "Connection") -> None:
        self.conn = conn

    async def write(self, data: bytes) -> None:
        if data:
            await self.conn.send(h11.Data(data=data))

    async def write_json(self, obj: Any) -> None:
        await self.write(json.dumps(obj, separators=(",", ":")).encode() + b"\n")

    async def end(self) -> None:
        await self.conn.send(h11.EndOfMessage())


class ClientGone(Exception):
    """The client closed its connection while we wrote to it."""


class Connection:
    def __init__(self, sock: socket.socket, extra_headers: list[tuple[str, str]], children) -> None:
        self.sock = sock
        self.children = children  # children.Children: where engine calls run
        self.loop = asyncio.get_running_loop()
        self.h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=HEADER_LIMIT)
        self.extra_headers = extra_headers
        self.hijacked = False

    async def _recv(self) -> None:
        try:
            data = await self.loop.sock_recv(self.sock, 65536)
        except (ConnectionError, OSError):
            data = b""
        self.h11.receive_data(data)

    async def next_event(self):
        while True:
            event = self.h11.next_event()
            if event is h11.NEED_DATA:
                await self._recv()
                continue
            return event

    async def next_request(self) -> Request | None:
        """The next request's head, or None when the client is done."""
        event = await self.next_event()
        if isinstance(event, h11.Request):
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in event.headers}
            return Request(self, event.method.decode(), event.target.decode("latin-1"), headers)
        return None

    async def body_chunks(self):
        while True:
            event = await self.next_event()
            if isinstance(event, h11.Data):
                yield bytes(event.data)
            elif isinstance(event, h11.EndOfMessage) or event is h11.PAUSED:
                return
            elif isinstance(event, h11.ConnectionClosed):
                raise ClientGone()
            else:
                raise ApiError(400, "unexpected data in the request body")

    async def drain_body(self) -> None:
        """What the handler did not read of the body, so the next request can follow."""
        if self.h11.their_state is h11.SEND_BODY:
            async for _ in self.body_chunks():
                pass

    async def send(self, event) -> None:
        data = self.h11.send(event)
        if data:
            try:
                await self.loop.sock_sendall(self.sock, data)
            except (ConnectionError, OSError) as e:
                raise ClientGone() from e

    def _headers(self, content_type: str | None, length: int | None, extra) -> list:
        hs = list(self.extra_headers) + list(extra)
        if content_type:
            hs.append(("Content-Type", content_type))
        if length is not None:
            hs.append(("Content-Length", str(length)))
        return hs

    async def reply(self, r: Reply, head_only: bool = False) -> None:
        if r.body is None:
            body = b""
            ctype = r.content_type
        elif isinstance(r.body, (bytes, bytearray)):
            body, ctype = bytes(r.body), r.content_type or "application/octet-stream"
        else:
            body = json.dumps(r.body, separators=(",", ":")).encode() + b"\n"
            ctype = r.content_type or "application/json"
        length = None if r.status in (204, 304) else len(body)
        await self.send(h11.Response(status_code=r.status, headers=self._headers(ctype, length, r.headers),
                                     reason=_reason(r.status)))
        if body and not head_only and r.status not in (204, 304):
            await self.send(h11.Data(data=body))
        await self.send(h11.EndOfMessage())

    async def start_stream(self, content_type: str = "application/json", status: int = 200,
                           headers: list[tuple[str, str]] | None = None) -> Stream:
        await self.send(h11.Response(status_code=status, headers=self._headers(content_type, None, headers or []),
                                     reason=_reason(status)))
        return Stream(self)

    async def hijack(self, req: Request, content_type: str = RAW_STREAM) -> bytes:
        """Take the socket over from HTTP: 101 when the client asked to upgrade, else a raw
        200 head. Returns bytes the client already sent past the request (its first stdin)."""
        await self.drain_body()
        if req.wants_upgrade() and self.h11.their_state is h11.MIGHT_SWITCH_PROTOCOL:
            await self.send(h11.InformationalResponse(status_code=101, headers=[
                ("Content-Type", content_type), ("Connection", "Upgrade"), ("Upgrade", "tcp")] +
                list(self.extra_headers)))
        else:
            head = f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\n"
            head += "".join(f"{k}: {v}\r\n" for k, v in self.extra_headers) + "\r\n"
            try:
                await self.loop.sock_sendall(self.sock, head.encode("latin-1"))
            except (ConnectionError, OSError) as e:
                raise ClientGone() from e
        self.hijacked = True
        leftover, _ = self.h11.trailing_data
        return bytes(leftover)

    async def until_closed(self) -> None:
        """Return when the client hangs up. Bytes it sends meanwhile (a pipelined request)
        are kept for h11."""
        while True:
            try:
                data = await self.loop.sock_recv(self.sock, 65536)
            except (ConnectionError, OSError):
                return
            if not data:
                return
            self.h11.receive_data(data)

    def can_reply(self) -> bool:
        return not self.hijacked and self.h11.our_state in (h11.IDLE, h11.SEND_RESPONSE)

    def next_cycle(self) -> bool:
        """Ready the connection for the client's next request; False when it must close."""
        if self.hijacked:
            return False
        if self.h11.our_state is h11.DONE and self.h11.their_state is h11.DONE:
            self.h11.start_next_cycle()
            return True
        return False


def _reason(status: int) -> bytes:
    from http import HTTPStatus
    try:
        return HTTPStatus(status).phrase.encode()
    except ValueError:
        return b""
