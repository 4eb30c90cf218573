"""/containers/{id}/stats: Docker's stats JSON, once or a sample a second."""

from __future__ import annotations

import time

from sampan.server.http import Reply, Request, json_reply
from sampan.server.router import Routes
from sampan.server.routes_common import race_client, ref_of

routes = Routes()
INTERVAL = 1.0


def _once(engine, ref: str, one_shot: bool) -> dict:
    """stream=false: two samples a second apart, so precpu_stats is filled (Docker's way),
    or one at once with one-shot."""
    first = engine.stats(ref)
    if one_shot:
        return first
    time.sleep(INTERVAL)
    return engine.stats(ref, first)


def _stream(engine, emit, ref: str) -> None:
    from sampan.errors import ContainerNotFound
    cid = engine.container(ref).id  # a 404 now, before the stream starts
    prev = None
    while True:
        try:
            prev = engine.stats(cid, prev)
        except ContainerNotFound:
            return  # removed: the stream ends
        emit(prev)
        time.sleep(INTERVAL)


@routes.get("/containers/{id}/stats")
async def stats(req: Request) -> Reply | None:
    ref = ref_of(req)
    if not req.q_bool("stream", True):
        return json_reply(await req.call(_once, ref, req.q_bool("one-shot")))
    items = req.stream(_stream, ref)
    try:
        first = await items.__anext__()
        stream = await req.conn.start_stream("application/json")

        async def pump() -> None:
            await stream.write_json(first)
            async for s in items:
                await stream.write_json(s)
            await stream.end()

        await race_client(req, pump())
    except StopAsyncIteration:
        return json_reply({})
    finally:
        await items.aclose()
    return None
