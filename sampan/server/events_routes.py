"""/events: the engine's event journal, past (since, until) and followed as it grows."""

from __future__ import annotations

from sampan.server.http import Request
from sampan.server.router import Routes
from sampan.server.routes_common import race_client

routes = Routes()


def _events(engine, emit, since, until, filters) -> None:
    """In the child: check the arguments (a 400 before any header is sent), say so, then
    emit each event until `until` passes; the parent kills this child when its client goes."""
    events = engine.events(since, until, filters)
    emit(None)
    for ev in events:
        emit(ev)


@routes.get("/events")
async def events(req: Request) -> None:
    items = req.stream(_events, req.q("since") or None, req.q("until") or None, req.q_json("filters", None))
    try:
        await items.__anext__()  # arguments checked (or a 400 from the child)
        stream = await req.conn.start_stream("application/json")

        async def pump() -> None:
            async for ev in items:
                await stream.write_json(ev)
            await stream.end()

        await race_client(req, pump())
    finally:
        await items.aclose()  # kills the child if it still follows the journal
    return None
