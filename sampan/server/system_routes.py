"""/_ping, /version, /info: what a client asks first."""

from __future__ import annotations

import platform

from sampan import __version__
from sampan.oci.platform import goarch
from sampan.server.http import Reply, Request, json_reply
from sampan.server.router import MAX_VERSION, MIN_VERSION, Routes, version_str

routes = Routes()


@routes.get("/_ping")
@routes.head("/_ping")
async def ping(req: Request) -> Reply:
    return Reply(200, b"OK", "text/plain; charset=utf-8",
                 headers=[("Cache-Control", "no-cache, no-store, must-revalidate"), ("Pragma", "no-cache")])


@routes.get("/version")
async def version(req: Request) -> Reply:
    kernel = platform.release()
    arch = goarch()
    return json_reply({
        "Platform": {"Name": "sampan"},
        "Components": [{"Name": "Engine", "Version": __version__,
                        "Details": {"ApiVersion": version_str(MAX_VERSION),
                                    "MinAPIVersion": version_str(MIN_VERSION),
                                    "Os": "linux", "Arch": arch, "KernelVersion": kernel}}],
        "Version": __version__, "ApiVersion": version_str(MAX_VERSION),
        "MinAPIVersion": version_str(MIN_VERSION), "GitCommit": "", "GoVersion": "",
        "Os": "linux", "Arch": arch, "KernelVersion": kernel, "BuildTime": "",
    })


def _info(engine) -> dict:
    return engine.system.info()


def docker_info(info: dict) -> dict:
    """sampan's info as Docker's SystemInfo: the same facts, Docker's field shapes."""
    out = {k: v for k, v in info.items() if k not in ("Runtimes", "CgroupHierarchy", "CgroupControllers",
                                                       "RunRoot")}
    out["Runtimes"] = {name: {"path": name} for name in info.get("Runtimes") or []}
    out.update({
        "ID": info.get("Name", ""), "OSType": "linux", "OSVersion": "", "Labels": [],
        "IndexServerAddress": "https://index.docker.io/v1/",
        "RegistryConfig": {"IndexConfigs": {}, "InsecureRegistryCIDRs": ["127.0.0.0/8"]},
        "SecurityOptions": ["name=seccomp,profile=builtin"],
        "Swarm": {"LocalNodeState": "inactive", "NodeID": "", "NodeAddr": "", "ControlAvailable": False},
        "Plugins": {"Volume": ["local"], "Network": ["bridge", "host", "none"], "Log": ["json-file"]},
        "LoggingDriver": "json-file", "MemoryLimit": True, "SwapLimit": True, "CpuCfsPeriod": True,
        "CpuCfsQuota": True, "CPUShares": True, "CPUSet": True, "PidsLimit": True, "IPv4Forwarding": True,
        "Debug": False, "Warnings": [],
    })
    return out


@routes.get("/info")
async def info(req: Request) -> Reply:
    return json_reply(docker_info(await req.call(_info)))
