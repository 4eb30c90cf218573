"""/volumes/...: list, create, inspect, remove, prune (Docker's Volume JSON)."""

from __future__ import annotations

from sampan.server.errors import ApiError
from sampan.server.http import Reply, Request, json_reply
from sampan.server.router import Routes
from sampan.server.routes_common import filters_map, ref_of

routes = Routes()


# ---- what each child does ----

def _list(engine, filters):
    from sampan.engine.options import ListOptions
    return [v.to_docker() for v in engine.volumes.list(ListOptions(filters=filters))]


def _create(engine, name, driver, labels):
    from sampan.engine.options import VolumeCreateOptions
    return engine.volumes.create(VolumeCreateOptions(name=name, driver=driver, labels=labels)).to_docker()


def _inspect(engine, name: str):
    return engine.volumes.inspect(name)


def _remove(engine, name: str, force: bool):
    from sampan.errors import NotFound
    [report] = engine.volumes.remove([name])
    if report.error is not None and not (force and isinstance(report.error, NotFound)):
        raise report.error


def _prune(engine, all_: bool, filters: dict | None):
    from sampan.engine.options import PruneOptions
    report = engine.volumes.prune(PruneOptions(all=all_, filters=filters))
    return {"VolumesDeleted": report.deleted, "SpaceReclaimed": report.space_reclaimed}


# ---- handlers ----

@routes.get("/volumes")
async def list_volumes(req: Request) -> Reply:
    return json_reply({"Volumes": await req.call(_list, req.q_json("filters", None)), "Warnings": []})


@routes.post("/volumes/create")
async def create(req: Request) -> Reply:
    body = await req.json({})
    if not isinstance(body, dict):
        raise ApiError(400, "the volume config must be a JSON object")
    name = body.get("Name") or None
    driver = body.get("Driver") or "local"
    labels = body.get("Labels") or {}
    if name is not None and not isinstance(name, str):
        raise ApiError(400, "Name must be a string")
    if not isinstance(driver, str):
        raise ApiError(400, "Driver must be a string")
    if not isinstance(labels, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                               for k, v in labels.items()):
        raise ApiError(400, "Labels must map strings to strings")
    opts = body.get("DriverOpts") or {}
    if opts:
        raise ApiError(400, "volume driver options are not supported (the local driver takes none here)")
    return json_reply(await req.call(_create, name, driver, labels), 201)


@routes.get("/volumes/{name}")
async def inspect(req: Request) -> Reply:
    return json_reply(await req.call(_inspect, ref_of(req, "name")))


@routes.delete("/volumes/{name}")
async def remove(req: Request) -> Reply:
    await req.call(_remove, ref_of(req, "name"), req.q_bool("force"))
    return Reply(204)


@routes.post("/volumes/prune")
async def prune(req: Request) -> Reply:
    """API 1.42+ prunes anonymous volumes unless the filter all=true is given; older
    clients mean every unused volume."""
    filters = filters_map(req) or {}
    all_ = "all" not in filters and req.api_version < (1, 42)
    return json_reply(await req.call(_prune, all_, filters))
