"""A container's privileges: --security-opt, --cap-add/--cap-drop, --privileged, --device.

create() checks them all once (one line for what is wrong) and records Docker's
HostConfig view of them; every start turns the record into spec inputs again
(the capabilities the engine holds, the host's devices, the seccomp profile
resolved for the container's capabilities).
"""

from __future__ import annotations

from sampan.errors import InvalidArgument
from sampan.runtime import caps as capmod
from sampan.specgen import seccomp as seccomp_profile
from sampan.specgen.devices import host_devices, mapped_devices, parse_device
from sampan.specgen.spec import container_caps

from typing import TYPE_CHECKING  # typing is loaded on every path that imports this
if TYPE_CHECKING:
    from sampan.engine.container_config import ContainerConfig

UNCONFINED = "unconfined"
BUILTIN = "builtin"
_TRUE = {"1", "t", "T", "true", "TRUE", "True"}   # Go's strconv.ParseBool
_FALSE = {"0", "f", "F", "false", "FALSE", "False"}


def _split(opt: str) -> tuple[str, str, str]:
    """Docker splits at the first '=' or, for old spellings, the first ':'."""
    if "=" in opt:
        return opt.partition("=")
    return opt.partition(":")


def parse_security_opts(values: list[str]) -> dict:
    """--security-opt values -> {"no_new_privileges", "seccomp", "security_opt"}.

    seccomp is None (the default profile), "unconfined" or a profile in Docker's format,
    checked here so that a bad one fails `create`, not a later `start`."""
    nnp = False
    seccomp: str | dict | None = None
    for opt in values:
        if opt == "no-new-privileges":
            nnp = True
            continue
        key, sep, value = _split(opt)
        if key == "no-new-privileges" and sep and (value in _TRUE or value in _FALSE):
            nnp = value in _TRUE
        elif key == "seccomp" and sep and value:
            if value == UNCONFINED:
                seccomp = UNCONFINED
            elif value == BUILTIN:
                seccomp = None
            else:
                seccomp = seccomp_profile.load(value)
        elif (key, value) in (("apparmor", UNCONFINED), ("label", "disable")):
            pass  # sampan applies no AppArmor or SELinux label: already so
        else:
            raise InvalidArgument(f"unsupported --security-opt {_short(opt)!r}: sampan supports "
                                  "no-new-privileges, seccomp=PROFILE.json and seccomp=unconfined")
    return {"no_new_privileges": nnp, "seccomp": seccomp, "security_opt": list(values)}


def _short(opt: str) -> str:
    return opt if len(opt) <= 60 else opt[:57] + "..."


def check_caps(cap_add: list[str], cap_drop: list[str]) -> None:
    """Every name must be a capability (or ALL); an added one must be held by the engine."""
    available = capmod.bounding_set()
    for name in cap_add:
        capmod.normalize(name, available)
    for name in cap_drop:
        capmod.normalize(name)  # dropping what the engine lacks anyway is harmless


def caps_of(config: ContainerConfig) -> list[str]:
    """The container's capability set (bounding = effective = permitted)."""
    add = [capmod.normalize(n) for n in config.get("cap_add") or []]
    drop = [capmod.normalize(n) for n in config.get("cap_drop") or []]
    privileged = bool(config.get("privileged"))
    available = capmod.bounding_set() if privileged or add else []
    for name in add:  # one the engine no longer holds fails the start in one line
        capmod.normalize(name, available)
    return container_caps(add, drop, privileged, available)


def parse_devices(specs: list[str]) -> list[dict]:
    """--device values -> Docker's DeviceMapping records; each host device must exist now."""
    mappings = [parse_device(s) for s in specs]
    for m in mappings:
        mapped_devices(m)
    return mappings


def devices_of(config: ContainerConfig) -> tuple[list[dict], list[dict]]:
    """(linux.devices, device cgroup rules) for a start: --privileged gets every host device,
    plus its --device mappings to other paths (their permissions ignored, as Docker)."""
    devices: list[dict] = []
    rules: list[dict] = []
    privileged = bool(config.get("privileged"))
    if privileged:
        devices = host_devices()
    for m in config.get("devices") or []:
        if privileged and m["PathOnHost"] == m["PathInContainer"]:
            continue  # already there with every host device
        found, allowed = mapped_devices(m)
        devices += found
        rules += allowed
    return devices, rules


def check_runtime_can_load(config: ContainerConfig, caps: list[str]) -> None:
    """The native runtime refuses some of what runc accepts (a notify listener): say so at create."""
    profile = config.get("seccomp")
    if not isinstance(profile, dict) or (config.get("runtime") or "native") != "native":
        return
    oci = seccomp_profile.resolve(profile, caps)
    if oci is None:
        return
    from sampan.runtime.seccomp import check
    problem = check(oci)
    if problem:
        raise InvalidArgument(f"invalid seccomp profile: {problem}")
