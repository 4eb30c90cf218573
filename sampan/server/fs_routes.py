"""A container's processes and file system: top, changes, export, archive (docker cp both
ways), rename, prune, and /system/df.

Archives leave through a child that writes the tar into `emit`; an archive sent to a
container is spooled to a file first (engine.spool_dir(), on disk) and extracted by the
engine's cp path, which keeps every member inside the container whatever its name or
links say (engine/cp.py, store/extract_at.py)."""

from __future__ import annotations

import base64
import json
import os

from sampan.server.children import EmitWriter
from sampan.server.errors import ApiError
from sampan.server.http import Reply, Request, json_reply
from sampan.server.router import Routes
from sampan.server.routes_common import filters_map, race_client, ref_of

routes = Routes()

CHUNK = 256 << 10
_KINDS = {"C": 0, "A": 1, "D": 2}


# ---- what each child does ----

def _top(engine, ref: str):
    rows = engine.top(ref)
    return {"Titles": ["UID", "PID", "PPID", "CMD"],
            "Processes": [[str(r["UID"]), str(r["PID"]), str(r["PPID"]), r["CMD"]] for r in rows]}


def _changes(engine, ref: str):
    return [{"Path": path, "Kind": _KINDS[kind]} for kind, path in engine.diff(ref)]


def _export(engine, emit, ref: str):
    engine.container(ref)
    emit(b"")  # found: the parent may send its 200
    out = EmitWriter(emit, CHUNK)
    engine.export(ref, out)
    out.close()


def _stat(engine, ref: str, path: str):
    return engine.stat_path(ref, path)


def _get_archive(engine, emit, ref: str, path: str):
    out = EmitWriter(emit, CHUNK)
    engine.copy_from_container(ref, path, out, archive=True)
    out.close()


def _put_archive(engine, ref: str, path: str, tar_path: str, keep_owner: bool):
    from sampan.errors import UnsafeArchive
    engine.stat_path(ref, path)  # Docker's 404 for a path that is not there
    with open(tar_path, "rb") as f:
        try:
            engine.copy_to_container(ref, f, path, archive=keep_owner)
        except UnsafeArchive as e:
            raise ApiError(400, str(e)) from None


def _spool_dir(engine):
    return engine.spool_dir()


def _rename(engine, ref: str, name: str):
    engine.rename(ref, name)


def _prune(engine, filters: dict | None):
    from sampan.engine.options import PruneOptions
    report = engine.containers.prune(PruneOptions(filters=filters))
    return {"ContainersDeleted": report.deleted, "SpaceReclaimed": report.space_reclaimed}


def _df(engine, kinds: set[str]):
    from sampan.engine.options import ListOptions
    out: dict = {}
    if "image" in kinds:
        images = [i.to_docker() for i in engine.images.list(ListOptions())]
        out["LayersSize"] = sum(i["Size"] for i in images)
        out["Images"] = images
    if "container" in kinds:
        sizes = engine.system.container_sizes()
        out["Containers"] = [dict(c.to_docker(), SizeRw=sizes.get(c.id, 0), SizeRootFs=sizes.get(c.id, 0))
                             for c in engine.containers.list(ListOptions(all=True))]
    if "volume" in kinds:
        usage = engine.volumes.usage()
        out["Volumes"] = [dict(v.to_docker(), UsageData={"Size": usage.get(v.name, (0, 0))[0],
                                                         "RefCount": usage.get(v.name, (0, 0))[1]})
                          for v in engine.volumes.list()]
    if "build-cache" in kinds:
        out["BuildCache"] = []
    return out


# ---- handlers ----

@routes.get("/containers/{id}/top")
async def top(req: Request) -> Reply:
    ps_args = req.q("ps_args")
    if ps_args and ps_args not in ("-ef", "aux", "-e", "-f"):
        raise ApiError(400, f"ps_args {ps_args!r} are not supported: the columns are UID PID PPID CMD")
    return json_reply(await req.call(_top, ref_of(req)))


@routes.get("/containers/{id}/changes")
async def changes(req: Request) -> Reply:
    return json_reply(await req.call(_changes, ref_of(req)) or None)


@routes.get("/containers/{id}/export")
async def export(req: Request) -> Reply | None:
    await _send_tar(req, req.stream(_export, ref_of(req)), [])
    return None


def _archive_path(req: Request) -> str:
    path = req.q("path")
    if not path:
        raise ApiError(400, "give the path in the container: ?path=")
    if "\0" in path:
        raise ApiError(400, "the path holds a NUL byte")
    return path


def _stat_header(st: dict) -> tuple[str, str]:
    return ("X-Docker-Container-Path-Stat",
            base64.b64encode(json.dumps(st, separators=(",", ":")).encode()).decode())


@routes.head("/containers/{id}/archive")
async def archive_stat(req: Request) -> Reply:
    st = await req.call(_stat, ref_of(req), _archive_path(req))
    return Reply(200, None, "application/x-tar", headers=[_stat_header(st)])


@routes.get("/containers/{id}/archive")
async def archive_get(req: Request) -> Reply | None:
    ref, path = ref_of(req), _archive_path(req)
    st = await req.call(_stat, ref, path)  # a 404 before any byte of the tar is sent
    await _send_tar(req, req.stream(_get_archive, ref, path), [_stat_header(st)])
    return None


@routes.put("/containers/{id}/archive")
async def archive_put(req: Request) -> Reply:
    ref, path = ref_of(req), _archive_path(req)
    keep_owner = req.q_bool("copyUIDGID")
    spooled = await req.spool(await req.call(_spool_dir))
    try:
        await req.call(_put_archive, ref, path, spooled, keep_owner)
    finally:
        os.unlink(spooled)
    return Reply(200)


@routes.post("/containers/{id}/rename")
async def rename(req: Request) -> Reply:
    name = req.q("name")
    if not name:
        raise ApiError(400, "give the new name: ?name=")
    await req.call(_rename, ref_of(req), name)
    return Reply(204)


@routes.post("/containers/{id}/update")
async def update(req: Request) -> Reply:
    """`docker update`: the restart policy and the resource limits (Docker's Resources
    fields, 0 or absent: unchanged); the other fields, set, are refused with a message."""
    body = await req.json({})
    if not isinstance(body, dict):
        raise ApiError(400, "the update must be a JSON object")
    await req.call(_exists, ref_of(req))
    limits = {k: body.get(k) for k in _LIMIT_FIELDS}
    asked = sorted(k for k, v in body.items()
                   if k != "RestartPolicy" and k not in _LIMIT_FIELDS and v not in (None, 0, "", [], {}))
    if asked:
        raise ApiError(400, f"updating {', '.join(asked)} of a container is not supported: "
                            "recreate the container with them")
    policy = body.get("RestartPolicy")
    if policy is not None and not isinstance(policy, dict):
        raise ApiError(400, "RestartPolicy must be an object")
    await req.call(_update, ref_of(req), policy, _update_options(limits))
    return json_reply({"Warnings": []})


_LIMIT_FIELDS = ("Memory", "MemorySwap", "MemoryReservation", "NanoCpus", "CpuQuota", "CpuPeriod", "CpuShares",
                 "CpusetCpus", "CpusetMems", "BlkioWeight", "PidsLimit", "CpuRealtimePeriod", "CpuRealtimeRuntime",
                 "KernelMemory")


def _update_options(f: dict):
    """Docker's Resources numbers into `update`'s flags (strings, as the CLI gives them)."""
    from sampan.engine.options import UpdateOptions
    for k, v in f.items():
        want = str if k in ("CpusetCpus", "CpusetMems") else int
        if v is not None and (type(v) is not want):
            raise ApiError(400, f"{k} must be {'a string' if want is str else 'an integer'}")
    num = {k: (str(v) if v else None) for k, v in f.items() if k not in ("CpusetCpus", "CpusetMems")}
    return UpdateOptions(memory=num["Memory"], memory_swap=num["MemorySwap"],
                         memory_reservation=num["MemoryReservation"],
                         cpus=str(f["NanoCpus"] / 1e9) if f.get("NanoCpus") else None,
                         cpu_shares=num["CpuShares"], cpuset_cpus=f.get("CpusetCpus") or None,
                         cpuset_mems=f.get("CpusetMems") or None, blkio_weight=num["BlkioWeight"],
                         pids_limit=num["PidsLimit"], cpu_period=num["CpuPeriod"], cpu_quota=num["CpuQuota"],
                         cpu_rt_period=num["CpuRealtimePeriod"], cpu_rt_runtime=num["CpuRealtimeRuntime"],
                         kernel_memory=num["KernelMemory"])


def _exists(engine, ref: str):
    engine.container(ref)


def _update(engine, ref: str, policy: dict | None, limits):
    engine.update(ref, restart=policy, limits=limits)


@routes.post("/containers/prune")
async def prune(req: Request) -> Reply:
    return json_reply(await req.call(_prune, filters_map(req)))


@routes.get("/system/df")
async def system_df(req: Request) -> Reply:
    kinds = set(req.q_list("type")) or {"container", "image", "volume", "build-cache"}
    unknown = kinds - {"container", "image", "volume", "build-cache"}
    if unknown:
        raise ApiError(400, f"invalid type {sorted(unknown)[0]!r}: container, image, volume or build-cache")
    return json_reply(await req.call(_df, kinds))


async def _send_tar(req: Request, items, headers: list) -> None:
    """The tar a child emits, as a chunked application/x-tar body. An error before the first
    chunk is the request's error; after it, the body is cut short."""
    try:
        first = await items.__anext__()
        stream = await req.conn.start_stream("application/x-tar", headers=headers)

        async def pump() -> None:
            await stream.write(first)
            async for chunk in items:
                await stream.write(chunk)
            await stream.end()

        if not await race_client(req, pump()):
            return
    except StopAsyncIteration:
        stream = await req.conn.start_stream("application/x-tar", headers=headers)
        await stream.end()
    finally:
        await items.aclose()
