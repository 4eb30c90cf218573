"""/images/..., /commit, /auth: list, inspect, history, tag, remove, prune, save, load,
pull and import (/images/create), push, search, commit, registry login checks.

Image names hold slashes and ports (127.0.0.1:5000/team/app:1): the routes take
`{name:path}`, and the fixed paths (/images/json, /images/get) come first.
Registry credentials (X-Registry-Auth) go to the one child that needs them.
"""

from __future__ import annotations

import os

from sampan.server.children import EmitWriter
from sampan.server.errors import ApiError
from sampan.server.http import Reply, Request, json_reply
from sampan.server.progress_json import progress_message, send_json_stream
from sampan.server.registry_auth import credentials_of, decode_auth
from sampan.server.router import Routes
from sampan.server.routes_common import race_client, ref_of

routes = Routes()
SAVE_CHUNK = 256 << 10


# ---- what each child does (module-level: they run in the forked child) ----

def _registry_failure(e: Exception, status: int = 500) -> ApiError:
    """A registry's refusal is not a bug of ours: no traceback, the message as it is."""
    return ApiError(status, str(e))


def _list(engine, all_: bool, filters):
    from sampan.engine.options import ListOptions
    return [s.to_docker() for s in engine.images.list(ListOptions(all=all_, filters=filters))]


def _inspect(engine, name: str):
    return engine.images.inspect(name)


def _history(engine, name: str):
    return [h.to_docker() for h in engine.images.history(name)]


def _tag(engine, name: str, target: str):
    engine.images.tag(name, target)


def _remove(engine, name: str, force: bool):
    from sampan.engine.options import ListOptions
    from sampan.errors import Conflict
    try:
        return engine.images.remove_one(name, force=force).to_docker()
    except Conflict:
        image = engine.images.get(name)
        users = [c for c in engine.containers.list(ListOptions(all=True)) if c.image_id == image.id]
        if not users:
            raise
        short = image.id.split(":")[-1][:12]
        if image.id.split(":")[-1].startswith(name.split(":")[-1]) and name not in image.repo_tags:
            message = (f"conflict: unable to delete {short} (must be forced) - image is being used "
                       f"by container {users[0].id[:12]}")
        else:
            message = (f'conflict: unable to remove repository reference "{name}" (must force) - '
                       f"container {users[0].id[:12]} is using its referenced image {short}")
        raise ApiError(409, message) from None


def _prune(engine, filters: dict | None):
    from sampan.engine.options import PruneOptions
    return engine.images.prune(PruneOptions(filters=filters)).to_docker()


def _spool_dir(engine):
    return engine.spool_dir()


def _load(engine, path: str):
    with open(path, "rb") as f:
        return engine.images.load(f)


def _import(engine, emit, path: str, ref: str | None, changes: list[str], message: str | None):
    with open(path, "rb") as f:
        summary = engine.images.import_rootfs(f, ref, changes, message)
    emit({"status": summary.id})


def _commit(engine, container: str, ref: str | None, changes: list[str], message, author):
    return engine.commit(container, ref, changes, message, author)


def _save(engine, emit, refs: list[str]):
    out = EmitWriter(emit, SAVE_CHUNK)
    engine.images.save(refs, out)
    out.close()


def _pull(engine, emit, ref: str, platform: str | None, auth):
    from sampan.errors import RegistryError
    try:
        summary = engine.images.pull(ref, platform=platform, auth=auth,
                                     on_progress=lambda ev: emit(progress_message(ev)))
    except RegistryError as e:
        raise _registry_failure(e) from None
    return summary.id


def _push(engine, emit, local: str, tag: str, auth):
    from sampan.errors import RegistryError
    try:
        digest = engine.images.push(local, None, auth=auth,
                                    on_progress=lambda ev: emit(progress_message(ev)))
    except RegistryError as e:
        raise _registry_failure(e) from None
    size = engine.images.manifest_size(digest)
    emit({"status": f"{tag}: digest: {digest} size: {size}", "progressDetail": {}})  # what the CLI prints
    emit({"progressDetail": {}, "aux": {"Tag": tag, "Digest": digest, "Size": size}})


def _check_login(engine, server: str | None, username: str, password: str):
    from sampan.errors import RegistryError
    try:
        return engine.check_login(server, username, password)
    except RegistryError as e:
        raise _registry_failure(e, 401) from None


def _search(engine, term: str, limit: int, filters, auth):
    from sampan.errors import RegistryError
    try:
        return [r.to_docker() for r in engine.images.search(term, limit, filters, auth=auth)]
    except RegistryError as e:
        raise _registry_failure(e) from None


# ---- helpers of the handlers ----

def _filters(req: Request):
    filters = req.q_json("filters", None)
    if filters is not None and not isinstance(filters, dict):
        raise ApiError(400, "invalid filters: expected a JSON object of lists")
    return filters


def _with_tag(repo: str, tag: str | None) -> str:
    if not tag:
        return repo
    return f"{repo}@{tag}" if tag.startswith("sha256:") else f"{repo}:{tag}"


async def _spooled(req: Request) -> str:
    return await req.spool(await req.call(_spool_dir))


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


# ---- handlers: fixed paths first ----

@routes.get("/images/json")
async def list_images(req: Request) -> Reply:
    return json_reply(await req.call(_list, req.q_bool("all"), _filters(req)))


@routes.get("/images/search")
async def search(req: Request) -> Reply:
    term = req.q("term")
    if not term:
        raise ApiError(400, "term is required")
    auth = decode_auth(req.headers.get("x-registry-auth"))
    return json_reply(await req.call(_search, term, req.q_int("limit", 0) or 0, _filters(req), auth))


@routes.post("/images/prune")
async def prune(req: Request) -> Reply:
    return json_reply(await req.call(_prune, _filters(req) or None))


@routes.get("/images/get")
async def save_many(req: Request) -> Reply | None:
    names = req.q_list("names")
    if not names:
        raise ApiError(400, "names is required: the images to save")
    return await _save_reply(req, names)


@routes.post("/images/load")
async def load(req: Request) -> Reply:
    path = await _spooled(req)
    try:
        refs = await req.call(_load, path)
    finally:
        _unlink(path)
    import json
    lines = [{"stream": (f"Loaded image ID: {r}\n" if r.startswith("sha256:") else f"Loaded image: {r}\n")}
             for r in refs]
    return Reply(200, b"".join(json.dumps(m).encode() + b"\n" for m in lines), "application/json")


@routes.post("/images/create")
async def create(req: Request) -> Reply | None:
    src = req.q("fromSrc")
    if src is not None:
        return await _import_rootfs(req, src)
    image = req.q("fromImage")
    if not image:
        raise ApiError(400, "fromImage or fromSrc is required")
    auth = decode_auth(req.headers.get("x-registry-auth"))
    ref = _with_tag(image, req.q("tag"))
    await send_json_stream(req, req.stream(_pull, ref, req.q("platform") or None, auth))
    return None


async def _import_rootfs(req: Request, src: str) -> Reply | None:
    if src != "-":
        raise ApiError(400, "importing from a URL is not supported: send the archive as the body (fromSrc=-)")
    repo = req.q("repo")
    ref = _with_tag(repo, req.q("tag")) if repo else None
    changes = [c for c in req.q_list("changes") if c]
    path = await _spooled(req)
    try:
        await send_json_stream(req, req.stream(_import, path, ref, changes, req.q("message") or None))
    finally:
        _unlink(path)
    return None


@routes.post("/commit")
async def commit(req: Request) -> Reply:
    container = req.q("container")
    if not container:
        raise ApiError(400, "container is required")
    await req.json({})  # the config to merge: Docker's clients send the container's own; unused
    repo = req.q("repo")
    ref = _with_tag(repo, req.q("tag")) if repo else None
    changes = [c for c in req.q_list("changes") if c]
    image_id = await req.call(_commit, container, ref, changes, req.q("comment") or None,
                              req.q("author") or None)
    return json_reply({"Id": image_id}, 201)


@routes.post("/auth")
async def auth(req: Request) -> Reply:
    body = await req.json({})
    if not isinstance(body, dict):
        raise ApiError(400, "invalid auth body: expected a JSON object")
    creds = credentials_of(body, "auth body")
    if creds is None or not creds[1]:
        raise ApiError(400, "username and password are required")
    server = body.get("serveraddress") or None
    if server is not None and not isinstance(server, str):
        raise ApiError(400, "invalid auth body: serveraddress must be a string")
    await req.call(_check_login, server, creds[0], creds[1])
    return json_reply({"Status": "Login Succeeded", "IdentityToken": ""})


# ---- handlers on one image: /images/{name} ----

@routes.get("/images/{name:path}/json")
async def inspect(req: Request) -> Reply:
    return json_reply(await req.call(_inspect, ref_of(req, "name")))


@routes.get("/images/{name:path}/history")
async def history(req: Request) -> Reply:
    return json_reply(await req.call(_history, ref_of(req, "name")))


@routes.post("/images/{name:path}/tag")
async def tag(req: Request) -> Reply:
    repo = req.q("repo")
    if not repo:
        raise ApiError(400, "repo is required: the name to tag the image with")
    await req.call(_tag, ref_of(req, "name"), _with_tag(repo, req.q("tag") or "latest"))
    return Reply(201)


@routes.post("/images/{name:path}/push")
async def push(req: Request) -> Reply | None:
    name = ref_of(req, "name")
    auth = decode_auth(req.headers.get("x-registry-auth"))
    tag = req.q("tag") or ""
    await send_json_stream(req, req.stream(_push, _with_tag(name, tag), tag or "latest", auth))
    return None


@routes.get("/images/{name:path}/get")
async def save_one(req: Request) -> Reply | None:
    return await _save_reply(req, [ref_of(req, "name")])


@routes.delete("/images/{name:path}")
async def remove(req: Request) -> Reply:
    return json_reply(await req.call(_remove, ref_of(req, "name"), req.q_bool("force")))


async def _save_reply(req: Request, refs: list[str]) -> Reply | None:
    from sampan.server.http import ClientGone
    items = req.stream(_save, refs)
    try:
        try:
            first = await items.__anext__()
        except StopAsyncIteration:
            first = b""
        stream = await req.conn.start_stream("application/x-tar")

        async def pump() -> None:
            try:
                await stream.write(first)
                async for chunk in items:
                    await stream.write(chunk)
            except ApiError:
                raise ClientGone() from None  # a tar cut short: hanging up is the only way to say it
            await stream.end()

        await race_client(req, pump())
    finally:
        await items.aclose()
    return None
