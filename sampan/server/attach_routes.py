"""/containers/{id}/attach and /containers/{id}/resize: a container's stdio for a client.

The docker CLI attaches to a created container, then asks for its wait, then
starts it (another request, maybe another process): the attach registers a
waiter with the engine before the client hears 101, so the container's monitor
connects to it before the container runs and none of its output is lost.
"""

from __future__ import annotations


from sampan.server import streams
from sampan.server.errors import ApiError
from sampan.server.http import Reply, Request
from sampan.server.router import Routes
from sampan.server.routes_common import ref_of

routes = Routes()
MAX_TTY_SIDE = 0xFFFF


def _attach(engine, ctl, client_fd: int, ref: str, flags: dict) -> None:
    """In the child: wait for (or join) the container's monitor and pump."""
    att = engine.attach(ref) if flags["stream"] else None
    tty = att.tty if att else bool(engine.container(ref).config.get("tty"))
    client = None
    try:
        first = ctl.ready(tty)
        if first is None:
            return
        client = streams.client_socket(client_fd)
        out = streams.ClientOut(client, tty, (flags["stdout"], flags["stderr"]))
        if flags["logs"]:
            for rec in engine.logs(ref):
                out.write(streams.STDERR if rec.get("stream") == "stderr" else streams.STDOUT,
                          rec["log"].encode())
        if att is not None:
            streams.pump_attach(att, client, first, flags["stdin"], out)
    finally:
        if att is not None:
            att.close()  # no longer a waiter before the client hears the end
        if client is not None:
            streams.hang_up(client)


@routes.post("/containers/{id}/attach")
async def attach(req: Request) -> Reply | None:
    flags = {k: req.q_bool(k) for k in ("stream", "stdin", "stdout", "stderr", "logs")}
    link = await streams.fork_child(req, _attach, ref_of(req), flags)
    await link.go(streams.content_type(link.ready))
    link.serve()
    return None


def _resize(engine, ref: str, rows: int, cols: int) -> None:
    engine.resize(ref, rows, cols)


def tty_size(req: Request) -> tuple[int, int]:
    rows, cols = req.q_int("h") or 0, req.q_int("w") or 0
    if not (0 <= rows <= MAX_TTY_SIDE and 0 <= cols <= MAX_TTY_SIDE):
        raise ApiError(400, f"invalid tty size {rows}x{cols}: each side is 0 to {MAX_TTY_SIDE}")
    return rows, cols


@routes.post("/containers/{id}/resize")
async def resize(req: Request) -> Reply:
    rows, cols = tty_size(req)
    await req.call(_resize, ref_of(req), rows, cols)
    return Reply(200)
