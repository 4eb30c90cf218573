"""Routes of the Engine API: method + path pattern -> handler, with Docker's version prefix.

Paths may start with /vX.Y (the version the client negotiated); without it the
newest is meant, as in Docker. Handlers are `async def h(req) -> Reply | None`
(None: it answered itself, by a stream or by taking the socket over).
"""

from __future__ import annotations

import re
import sys
import traceback
from typing import Awaitable, Callable

from sampan.server.errors import ApiError
from sampan.server.http import ClientGone, Reply, Request

MIN_VERSION = (1, 24)   # Docker's own minimum: docker-compose 1.x asks for versions this old
MAX_VERSION = (1, 50)   # what docker CLI 28 speaks; newer clients negotiate down to it

Handler = Callable[[Request], Awaitable[Reply | None]]
_VERSION = re.compile(r"^/v(\d+)\.(\d+)(/.*)$")


def version_str(v: tuple[int, int]) -> str:
    return f"{v[0]}.{v[1]}"


class Routes:
    """A group of routes, registered by decorators in each *_routes module."""

    def __init__(self) -> None:
        self.table: list[tuple[str, re.Pattern, Handler]] = []

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        # {name} is one path segment; {name:path} may hold slashes (image names do)
        rx = re.sub(r"\{(\w+):path\}", r"(?P<\1>.+)", pattern)
        rx = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", rx)
        self.table.append((method, re.compile("^" + rx + "$"), handler))

    def route(self, method: str, pattern: str):
        def deco(fn: Handler) -> Handler:
            self.add(method, pattern, fn)
            return fn
        return deco

    def get(self, pattern: str):
        return self.route("GET", pattern)

    def post(self, pattern: str):
        return self.route("POST", pattern)

    def put(self, pattern: str):
        return self.route("PUT", pattern)

    def delete(self, pattern: str):
        return self.route("DELETE", pattern)

    def head(self, pattern: str):
        return self.route("HEAD", pattern)


class Router:
    def __init__(self, groups: list[Routes]) -> None:
        import os
        self.table = [entry for g in groups for entry in g.table]
        # SAMPAN_API_TRACE=1: one line per request on the service's stderr (what a client sends)
        self.trace = os.environ.get("SAMPAN_API_TRACE") == "1"

    def _find(self, method: str, path: str) -> tuple[Handler, dict[str, str]]:
        allowed = False
        for m, rx, handler in self.table:
            match = rx.match(path)
            if match:
                if m == method:
                    return handler, {k: _unquote(v) for k, v in match.groupdict().items()}
                allowed = True
        if allowed:
            raise ApiError(405, f"method {method} not allowed for {path}")
        raise ApiError(404, "page not found")

    async def dispatch(self, req: Request) -> None:
        if self.trace:
            print(f"api: {req.method} {req.path}{'?' if req.query else ''}"
                  f"{'&'.join(f'{k}={v[-1]}' for k, v in req.query.items())}", file=sys.stderr, flush=True)
        conn = req.conn
        try:
            path = req.path
            req.api_version = MAX_VERSION
            m = _VERSION.match(path)
            if m:
                v = (int(m.group(1)), int(m.group(2)))
                if v < MIN_VERSION:
                    raise ApiError(400, f"client version {version_str(v)} is too old. Minimum supported API "
                                        f"version is {version_str(MIN_VERSION)}, please upgrade your client "
                                        "to a newer version")
                if v > MAX_VERSION:
                    raise ApiError(400, f"client version {version_str(v)} is too new. Maximum supported API "
                                        f"version is {version_str(MAX_VERSION)}")
                req.api_version, path = v, m.group(3)
            handler, req.params = self._find(req.method, path)
            reply = await handler(req)
            if reply is not None:
                await conn.reply(reply, head_only=req.method == "HEAD")
        except ClientGone:
            raise
        except ApiError as e:
            await _fail(req, e.status, e.message)
        except Exception as e:
            traceback.print_exc(file=sys.stderr)
            await _fail(req, 500, f"internal error: {type(e).__name__}: {e}")


async def _fail(req: Request, status: int, message: str) -> None:
    conn = req.conn
    if conn.can_reply():
        await conn.reply(Reply(status, None if status == 304 else {"message": message}),
                         head_only=req.method == "HEAD")
    else:
        raise ClientGone()  # mid-stream: the only way left to say it failed is to hang up


def _unquote(v: str) -> str:
    from urllib.parse import unquote
    return unquote(v)
