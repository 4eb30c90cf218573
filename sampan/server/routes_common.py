"""Small pieces every route group uses."""

from __future__ import annotations

import asyncio

from sampan.server.errors import ApiError
from sampan.server.http import Request


def ref_of(req: Request, key: str = "id") -> str:
    ref = req.params.get(key, "")
    if not ref:
        raise ApiError(400, f"missing {key} in the path")
    return ref


async def race_client(req: Request, work) -> bool:
    """Run `work` (a coroutine) until done or until the client hangs up, whichever is
    first; a hang-up cancels it (and so kills the child behind it). True if it finished."""
    task = asyncio.ensure_future(work)
    gone = asyncio.ensure_future(req.conn.until_closed())
    try:
        done, _ = await asyncio.wait({task, gone}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        # the service is stopping: end the work first, so that what it iterates (a
        # child's stream) is no longer running when the caller closes it
        task.cancel()
        try:
            await task
        except (asyncio.CancelledError, Exception):
            pass
        raise
    finally:
        gone.cancel()
    if task in done:
        task.result()
        return True
    task.cancel()
    try:
        await task
    except (asyncio.CancelledError, Exception):
        pass
    return False


def filters_map(req: Request) -> dict | None:
    """Docker's `filters` query parameter: a JSON object (the engine checks its keys and values)."""
    filters = req.q_json("filters", None)
    if filters is not None and not isinstance(filters, dict):
        raise ApiError(400, "invalid filters: expected a JSON object of lists")
    return filters or None
