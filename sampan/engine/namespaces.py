"""--pid, --ipc and --uts: a namespace of the container's own (the default), the host's, or
(pid, ipc) a running container's.

Joining the host's pid namespace is an escape-level choice, as --privileged: the container
sees and, with the capabilities to do so, signals every host process. A container:NAME is
joined only through /proc/PID/ns of the pid recorded for it, checked against its start
time when the bundle is written (at each start)."""

from __future__ import annotations

from sampan.errors import InvalidArgument, InvalidState

from typing import TYPE_CHECKING  # typing is loaded on every path that imports this
if TYPE_CHECKING:
    from sampan.engine.container_config import ContainerConfig

MODES = {
    "pid": ("", "host", "container"),
    "ipc": ("", "host", "container", "private", "shareable", "none"),
    "uts": ("", "host"),
}


def parse_mode(ctx, kind: str, mode: str | None) -> str:
    """The recorded mode: "" (own namespace), "host", "private", "shareable", "none" or
    "container:<full id>" (the container must exist; it must run at start)."""
    mode = mode or ""
    name, colon, ref = mode.partition(":")
    if name not in MODES[kind] or (name == "container") != bool(colon) or (colon and not ref):
        raise InvalidArgument(f"invalid {kind.upper()} mode: {mode}")
    if kind == "ipc" and name == "private":
        return ""
    if name == "container":
        from sampan.errors import ContainerNotFound
        try:
            return "container:" + ctx.containers.find(ref).id
        except ContainerNotFound:  # a 400, as Docker's: a 404 would make its CLI pull the image
            raise InvalidArgument(f"failed to join {kind.upper()} namespace: No such container: {ref}") from None
    return name


def namespace_paths(ctx, config: ContainerConfig) -> dict[str, str | None]:
    """At start: {type: path to join, or "host" to share the host's} for pid, ipc, uts."""
    out: dict[str, str | None] = {}
    modes = {"pid": config.get("pid_mode"), "ipc": config.get("ipc_mode"), "uts": config.get("uts_mode")}
    for kind, given in modes.items():
        mode = given or ""
        if mode == "host":
            out[kind] = "host"
        elif mode.startswith("container:"):
            out[kind] = _join_path(ctx, kind, mode.split(":", 1)[1])
    return out


def _join_path(ctx, kind: str, cid: str) -> str:
    from sampan.engine.status import status_of
    other = ctx.containers.get(cid)
    what = "PID" if kind == "pid" else "IPC"
    if other is None:
        raise InvalidState(f"failed to join {what} namespace: the container {cid[:12]} was removed")
    if not status_of(other).running:  # the recorded pid with its start time: not a reused pid
        raise InvalidState(f"failed to join {what} namespace: container {other.name} is not running")
    if kind == "ipc" and (other.config.get("ipc_mode") or "") not in ("shareable", "host"):
        raise InvalidArgument(f"failed to join IPC namespace: container {other.name}: non-shareable IPC "
                              "(hint: use IpcMode:shareable for the donor container)")
    return f"/proc/{other.pid}/ns/{kind}"
