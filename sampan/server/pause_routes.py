"""/containers/{id}/pause and /unpause: freeze and thaw a container's processes."""

from __future__ import annotations

from sampan.server.http import Reply, Request
from sampan.server.router import Routes
from sampan.server.routes_common import ref_of

routes = Routes()


def _pause(engine, ref: str) -> None:
    engine.pause(ref)


def _unpause(engine, ref: str) -> None:
    engine.unpause(ref)


@routes.post("/containers/{id}/pause")
async def pause(req: Request) -> Reply:
    await req.call(_pause, ref_of(req))
    return Reply(204)


@routes.post("/containers/{id}/unpause")
async def unpause(req: Request) -> Reply:
    await req.call(_unpause, ref_of(req))
    return Reply(204)
