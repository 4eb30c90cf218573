"""/containers/...: list, create, inspect, start, stop, kill, restart, wait, remove."""

from __future__ import annotations

import time

from sampan.server.errors import ApiError, NotModified
from sampan.server.http import Reply, Request, json_reply
from sampan.server.create_body import run_options
from sampan.server.router import Routes
from sampan.server.routes_common import race_client, ref_of

routes = Routes()


# ---- what each child does (module-level: they run in the forked child) ----

def _list(engine, all_: bool, limit: int, filters, size: bool = False):
    from sampan.engine.options import ListOptions
    return [s.to_docker() for s in engine.containers.list(ListOptions(all=all_, limit=limit, filters=filters,
                                                                        size=size))]


def _create(engine, opts):
    """The new container's id and the engine's warnings (a setting discarded: Docker's daemon
    sends them in Warnings, and the docker CLI prints each as WARNING: ...)."""
    warnings: list[str] = []
    opts.on_warning = warnings.append
    rec = engine.create(opts)
    return rec.id, warnings


def _inspect(engine, ref: str):
    return engine.containers.inspect(ref)


def _start(engine, ref: str):
    from sampan.engine.status import status_of
    st = status_of(engine.container(ref))
    if st.running or st.restarting:
        raise NotModified()
    engine.start(ref)


def _stop(engine, ref: str, timeout, signal):
    from sampan.engine.status import status_of
    st = status_of(engine.container(ref))
    if not (st.running or st.restarting):
        raise NotModified()
    engine.stop(ref, timeout)


def _restart(engine, ref: str, timeout):
    engine.restart(ref, timeout)


def _kill(engine, ref: str, signal: str):
    engine.kill(ref, signal)


def _remove(engine, ref: str, force: bool, volumes: bool):
    from sampan.engine.options import RemoveOptions
    [report] = engine.containers.remove([ref], RemoveOptions(force=force, volumes=volumes))
    if report.error is not None:
        raise report.error


def _wait(engine, emit, ref: str, condition: str):
    """Tell the parent once the wait is in place (the client must hear 200 before it
    starts the container), then block until the condition holds and emit the exit code."""
    from sampan.engine.status import status_of
    from sampan.errors import ContainerNotFound
    rec = engine.container(ref)
    cid, baseline = rec.id, rec.started_at
    emit("waiting")
    seen_running = False
    pause = _MIN_POLL
    while True:
        try:
            cur = engine.container(cid)
        except ContainerNotFound:
            emit(engine.wait(cid))  # removed: the exit code --rm kept
            return
        st = status_of(cur)  # (a record read just before its monitor wrote the exit is read again)
        if st.monitor_lost or st.removed:
            continue  # lost since engine.container settled it, or removed: the next read tells
        running = st.running or st.starting
        if running and not seen_running:
            pause = _MIN_POLL
        seen_running = seen_running or running or cur.started_at != baseline
        if condition == "removed" or (condition == "next-exit" and not seen_running) or running:
            if st.running and _sleep_until_exit(cur.pid, pause):
                pause = _MIN_POLL  # it exited: its monitor records that in a few ms
                continue
            time.sleep(pause)
            pause = min(pause * 1.5, _MAX_POLL)  # quick near a change, cheap over a long wait
            continue
        emit(st.exit_code)
        return


_MIN_POLL, _MAX_POLL = 0.002, 0.1


def _sleep_until_exit(pid: int, timeout: float) -> bool:
    """Block on the container's process until it exits (True), up to a second at a time, or
    fall back to a plain sleep when it cannot be watched (False)."""
    import os
    import select
    try:
        fd = os.pidfd_open(pid)
    except OSError:
        return False
    try:
        return bool(select.select([fd], [], [], 1.0)[0])
    finally:
        os.close(fd)


# ---- handlers ----

@routes.get("/containers/json")
async def list_containers(req: Request) -> Reply:
    filters = req.q_json("filters", None)
    return json_reply(await req.call(_list, req.q_bool("all"), req.q_int("limit", -1) or -1, filters,
                                     req.q_bool("size")))


@routes.post("/containers/create")
async def create(req: Request) -> Reply:
    opts, warnings = run_options(await req.json({}), req.q("name"), req.q("platform"))
    cid, more = await req.call(_create, opts)
    return json_reply({"Id": cid, "Warnings": warnings + more}, 201)


@routes.get("/containers/{id}/json")
async def inspect(req: Request) -> Reply:
    return json_reply(await req.call(_inspect, ref_of(req)))


@routes.post("/containers/{id}/start")
async def start(req: Request) -> Reply:
    await req.call(_start, ref_of(req))
    return Reply(204)


@routes.post("/containers/{id}/stop")
async def stop(req: Request) -> Reply:
    await req.call(_stop, ref_of(req), req.q_int("t"), req.q("signal"))
    return Reply(204)


@routes.post("/containers/{id}/restart")
async def restart(req: Request) -> Reply:
    await req.call(_restart, ref_of(req), req.q_int("t"))
    return Reply(204)


@routes.post("/containers/{id}/kill")
async def kill(req: Request) -> Reply:
    await req.call(_kill, ref_of(req), req.q("signal") or "SIGKILL")
    return Reply(204)


@routes.delete("/containers/{id}")
async def remove(req: Request) -> Reply:
    await req.call(_remove, ref_of(req), req.q_bool("force"), req.q_bool("v"))
    return Reply(204)


@routes.post("/containers/{id}/wait")
async def wait(req: Request) -> Reply | None:
    condition = req.q("condition") or "not-running"
    if condition not in ("not-running", "next-exit", "removed"):
        raise ApiError(400, f"invalid condition {condition!r}: not-running, next-exit or removed")
    items = req.stream(_wait, ref_of(req), condition)
    try:
        await items.__anext__()  # the wait is in place (or the container is unknown: 404)
        stream = await req.conn.start_stream("application/json")

        async def finish() -> None:
            code = 0
            async for code in items:
                pass
            await stream.write_json({"StatusCode": code, "Error": None})
            await stream.end()

        await race_client(req, finish())
    finally:
        await items.aclose()
    return None
