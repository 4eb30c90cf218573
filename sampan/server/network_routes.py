"""/networks/...: list, inspect, create, remove, connect, disconnect, prune (Docker's
Network JSON). Only the bridge driver: a network is a bridge with a subnet of its own."""

from __future__ import annotations

from typing import Any

from sampan.server.errors import ApiError
from sampan.server.http import Reply, Request, json_reply
from sampan.server.router import Routes
from sampan.server.routes_common import filters_map, ref_of

routes = Routes()


# ---- what each child does ----

def _list(engine, filters):
    from sampan.engine.options import ListOptions
    return [n.to_docker() for n in engine.networks.list(ListOptions(filters=filters))]


def _inspect(engine, ref: str):
    return engine.networks.inspect(ref)


def _create(engine, opts):
    return engine.networks.create(opts).id


def _remove(engine, ref: str):
    engine.networks.remove_one(ref)


def _connect(engine, net: str, container: str, aliases: list[str], ip: str | None = None,
             links: list[str] | None = None):
    engine.networks.connect(net, container, aliases, ip=ip, links=links)


def _disconnect(engine, net: str, container: str, force: bool):
    engine.networks.disconnect(net, container, force)


def _prune(engine, filters: dict | None):
    from sampan.engine.options import PruneOptions
    return {"NetworksDeleted": engine.networks.prune(PruneOptions(filters=filters)).deleted}


# ---- handlers ----

@routes.get("/networks")
async def list_networks(req: Request) -> Reply:
    return json_reply(await req.call(_list, req.q_json("filters", None)))


@routes.post("/networks/create")
async def create(req: Request) -> Reply:
    from sampan.engine.options import NetworkCreateOptions
    body = await req.json(None)
    if not isinstance(body, dict):
        raise ApiError(400, "the network config must be a JSON object")
    name = body.get("Name")
    if not name or not isinstance(name, str):
        raise ApiError(400, "a network needs a Name")
    driver = body.get("Driver") or "bridge"
    if not isinstance(driver, str):
        raise ApiError(400, "Driver must be a string")
    for key in ("EnableIPv6", "Ingress"):
        if body.get(key):
            raise ApiError(400, f"{key} networks are not supported")
    labels = _str_map(body.get("Labels"), "Labels")
    subnet, gateway = _ipam(body.get("IPAM"))
    opts = NetworkCreateOptions(name=name, driver=driver, subnet=subnet, gateway=gateway,
                                internal=bool(body.get("Internal")), labels=labels)
    # CheckDuplicate or not, a name is one network here: a second one is refused (409)
    nid = await req.call(_create, opts)
    return json_reply({"Id": nid, "Warning": ""}, 201)


@routes.get("/networks/{id}")
async def inspect(req: Request) -> Reply:
    return json_reply(await req.call(_inspect, ref_of(req)))


@routes.delete("/networks/{id}")
async def remove(req: Request) -> Reply:
    ref = ref_of(req)
    if ref in ("bridge", "host", "none"):
        raise ApiError(403, f"{ref} is a pre-defined network and cannot be removed")
    await req.call(_remove, ref)
    return Reply(204)


@routes.post("/networks/{id}/connect")
async def connect(req: Request) -> Reply:
    body = await _container_body(req)
    ep = body.get("EndpointConfig") or {}
    if not isinstance(ep, dict):
        raise ApiError(400, "EndpointConfig must be a JSON object")
    aliases = ep.get("Aliases") or []
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        raise ApiError(400, "Aliases must be a list of strings")
    ipam = ep.get("IPAMConfig") or {}
    if not isinstance(ipam, dict):
        raise ApiError(400, "IPAMConfig must be a JSON object")
    if ipam.get("IPv6Address"):
        raise ApiError(400, "a fixed IPv6 address on connect is not supported")
    ip = ipam.get("IPv4Address") or None
    if ip is not None and not isinstance(ip, str):
        raise ApiError(400, "IPAMConfig.IPv4Address must be a string")
    links = ep.get("Links") or []
    if not isinstance(links, list) or not all(isinstance(x, str) for x in links):
        raise ApiError(400, "Links must be a list of strings")
    await req.call(_connect, ref_of(req), body["Container"], aliases, ip, links)
    return Reply(200)


@routes.post("/networks/{id}/disconnect")
async def disconnect(req: Request) -> Reply:
    body = await _container_body(req)
    await req.call(_disconnect, ref_of(req), body["Container"], bool(body.get("Force")))
    return Reply(200)


@routes.post("/networks/prune")
async def prune(req: Request) -> Reply:
    return json_reply(await req.call(_prune, filters_map(req)))


async def _container_body(req: Request) -> dict:
    body = await req.json(None)
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object")
    if not body.get("Container") or not isinstance(body["Container"], str):
        raise ApiError(400, "give the Container to connect or disconnect")
    return body


def _str_map(v: Any, key: str) -> dict[str, str]:
    v = v or {}
    if not isinstance(v, dict) or not all(isinstance(k, str) and isinstance(x, str) for k, x in v.items()):
        raise ApiError(400, f"{key} must map strings to strings")
    return dict(v)


def _ipam(ipam: Any) -> tuple[str | None, str | None]:
    """The one IPv4 Subnet/Gateway pair sampan's bridge takes from Docker's IPAM."""
    if not ipam:
        return None, None
    if not isinstance(ipam, dict):
        raise ApiError(400, "IPAM must be a JSON object")
    if (ipam.get("Driver") or "default") != "default":
        raise ApiError(400, f"IPAM driver {ipam['Driver']!r} is not supported: only default")
    configs = ipam.get("Config") or []
    if not isinstance(configs, list) or not all(isinstance(c, dict) for c in configs):
        raise ApiError(400, "IPAM Config must be a list of objects")
    if len(configs) > 1:
        raise ApiError(400, "only one IPAM Config (one subnet) is supported per network")
    if not configs:
        return None, None
    c = configs[0]
    if c.get("IPRange") or c.get("AuxiliaryAddresses"):
        raise ApiError(400, "IPRange and AuxiliaryAddresses are not supported")
    subnet, gateway = c.get("Subnet") or None, c.get("Gateway") or None
    for key, v in (("Subnet", subnet), ("Gateway", gateway)):
        if v is not None and not isinstance(v, str):
            raise ApiError(400, f"{key} must be a string")
    return subnet, gateway
