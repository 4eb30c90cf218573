"""POST /build: the classic builder's endpoint (`DOCKER_BUILDKIT=0 docker build`, docker-py).

The body is the context as a tar (maybe gzip). It is spooled to a file under the run
root, unpacked by the engine with its hardened extractor into a scratch directory and
built from there; both are removed afterwards. The answer is Docker's JSON stream:
{"stream": text} lines (the engine's typed BuildEvents, rendered as the classic builder's), then {"aux": {"ID": ...}} and "Successfully built"
(docker-py finds the image id in either), or an errorDetail if the build fails.
"""

from __future__ import annotations

import os

from sampan.server.errors import ApiError
from sampan.server.http import Reply, Request, json_reply
from sampan.server.progress_json import BuildLines, send_json_stream
from sampan.server.registry_auth import decode_auth_map
from sampan.server.router import Routes
from sampan.server.routes_common import filters_map

routes = Routes()


def _spool_dir(engine):
    return engine.spool_dir()


def _build(engine, emit, path: str, opts):
    from sampan.errors import BuildError, RegistryError
    try:
        image_id, tags = engine.build_archive(path, opts, emit)
    except (BuildError, RegistryError) as e:
        raise ApiError(400 if isinstance(e, BuildError) else 500, str(e)) from None
    emit(("built", image_id, tags))


def _json_map(req: Request, name: str) -> dict[str, str]:
    value = req.q_json(name, {}) or {}
    if not isinstance(value, dict):
        raise ApiError(400, f"invalid {name}: expected a JSON object")
    out = {}
    for k, v in value.items():
        if v is None:
            continue  # a build arg named without a value: Docker takes it as unset
        if not isinstance(v, str):
            raise ApiError(400, f"invalid {name}: the value of {k!r} is not a string")
        out[k] = v
    return out


def _options(req: Request):
    from sampan.engine.options import ArchiveBuildOptions
    cache_from = req.q_json("cachefrom", [])
    cache_from = [] if cache_from is None else cache_from
    if not isinstance(cache_from, list) or not all(isinstance(c, str) for c in cache_from):
        raise ApiError(400, "invalid cachefrom: expected a JSON list of image names")
    if req.q("version") == "2":
        raise ApiError(400, "BuildKit sessions are not supported: build with DOCKER_BUILDKIT=0")
    return ArchiveBuildOptions(
        dockerfile=req.q("dockerfile") or "Dockerfile",
        tags=[t for t in req.q_list("t") if t], build_args=_json_map(req, "buildargs"),
        target=req.q("target") or None, no_cache=req.q_bool("nocache"),
        pull="always" if req.q_bool("pull") else "missing", labels=_json_map(req, "labels"),
        quiet=req.q_bool("q"), auths=decode_auth_map(req.headers.get("x-registry-config")),
        remote=req.q("remote") or None, cache_from=cache_from)


def _messages(quiet: bool):
    lines = BuildLines()

    def convert(item) -> list[dict]:
        if isinstance(item, tuple):
            _, image_id, tags = item
            done: list[dict] = [{"aux": {"ID": image_id}}]
            if quiet:
                return done + [{"stream": image_id + "\n"}]
            done.append({"stream": f"Successfully built {image_id.split(':')[-1][:12]}\n"})
            return done + [{"stream": f"Successfully tagged {t}\n"} for t in tags]
        return lines(item)
    return convert


@routes.post("/build")
async def build(req: Request) -> Reply | None:
    opts = _options(req)
    path = await req.spool(await req.call(_spool_dir))
    try:
        await send_json_stream(req, req.stream(_build, path, opts), _messages(opts.quiet))
    finally:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
    return None


def _build_prune(engine, filters: dict | None):
    """sampan's build cache is its cached steps, its RUN --mount=type=cache dirs and the
    untagged images its builds left: pruning it is pruning those (the images only without
    filters: an image's age is not its cache's)."""
    from sampan.engine.options import PruneOptions
    report = engine.build_prune(PruneOptions(filters=filters))
    deleted, space = list(report.deleted), report.space_reclaimed
    if not filters:
        images = engine.images.prune()
        deleted += [d for r in images.images for d in r.deleted]
        space += images.space_reclaimed
    return {"CachesDeleted": deleted or None, "SpaceReclaimed": space}


@routes.post("/build/prune")
async def build_prune(req: Request) -> Reply:
    return json_reply(await req.call(_build_prune, filters_map(req)))
