"""/containers/{id}/exec and /exec/{id}/...: a process run in a running container.

As in Docker, an exec is a record in the service's memory (made by create,
run by start, read by inspect) and is gone with the service. Its process runs
in a child forked for it, which pumps between the process and the hijacked
client and reports the exit code before it ends the stream: the docker CLI asks
for it the moment its stream ends.
"""

from __future__ import annotations

import os
from typing import Any

from sampan.server import streams
from sampan.server.attach_routes import tty_size
from sampan.server.errors import ApiError
from sampan.server.http import Reply, Request, json_reply
from sampan.server.router import Routes
from sampan.server.routes_common import ref_of

routes = Routes()
KEEP_FINISHED = 1000   # finished execs remembered for inspect; the oldest are forgotten


class ExecRecord:
    def __init__(self, eid: str, cid: str, cfg: dict) -> None:
        self.id, self.cid, self.cfg = eid, cid, cfg
        self.started = self.running = False
        self.exit_code: int | None = None
        self.pid = 0
        self.link: streams.ChildLink | None = None

    def on_message(self, msg: Any) -> None:
        if msg[0] == "pid":
            self.pid = msg[1]
        elif msg[0] == "exit":
            self.running, self.exit_code, self.link = False, msg[1], None

    def to_docker(self) -> dict:
        c = self.cfg
        return {"ID": self.id, "ContainerID": self.cid, "Running": self.running, "ExitCode": self.exit_code,
                "Pid": self.pid, "CanRemove": False, "DetachKeys": c["DetachKeys"],
                "OpenStdin": c["AttachStdin"], "OpenStdout": c["AttachStdout"], "OpenStderr": c["AttachStderr"],
                "ProcessConfig": {"tty": c["Tty"], "entrypoint": c["Cmd"][0], "arguments": c["Cmd"][1:],
                                  "privileged": c["Privileged"], "user": c["User"]}}


_execs: dict[str, ExecRecord] = {}


def _forget_old() -> None:
    finished = [e for e in _execs.values() if e.started and not e.running]
    for e in finished[:max(0, len(finished) - KEEP_FINISHED)]:
        del _execs[e.id]


def _config(body: Any) -> dict:
    """The create body, checked: every byte from a client is hostile."""
    if not isinstance(body, dict):
        raise ApiError(400, "the exec config must be a JSON object")
    cmd = body.get("Cmd")
    if isinstance(cmd, str):
        cmd = [cmd]
    if not isinstance(cmd, list) or not cmd or not all(isinstance(a, str) for a in cmd) or not cmd[0]:
        raise ApiError(400, "no exec command specified: Cmd must be a non-empty list of strings")
    env = body.get("Env") or []
    if not isinstance(env, list) or not all(isinstance(e, str) for e in env):
        raise ApiError(400, "Env must be a list of strings")
    cfg: dict[str, object] = {"Cmd": cmd, "Env": env}
    for key in ("User", "WorkingDir", "DetachKeys"):
        v = body.get(key) or ""
        if not isinstance(v, str):
            raise ApiError(400, f"{key} must be a string")
        cfg[key] = v
    for key in ("Tty", "AttachStdin", "AttachStdout", "AttachStderr", "Privileged"):
        v = body.get(key) or False
        if not isinstance(v, bool):
            raise ApiError(400, f"{key} must be true or false")
        cfg[key] = v
    size = body.get("ConsoleSize")  # [h, w]: API 1.42+ clients send their terminal's
    if size is not None and size != [0, 0]:
        if (not isinstance(size, list) or len(size) != 2
                or not all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= 0xFFFF for n in size)):
            raise ApiError(400, "ConsoleSize must be [height, width], each 0 to 65535")
        cfg["ConsoleSize"] = size
    workdir = str(cfg["WorkingDir"])
    if workdir and not workdir.startswith("/"):
        raise ApiError(400, f"the working directory {workdir!r} is invalid: it must be absolute")
    return cfg


def _running_container(engine, ref: str) -> str:
    from sampan.engine.status import status_of
    from sampan.errors import InvalidState
    rec = engine.container(ref)
    if not status_of(rec).running:
        raise InvalidState(f"container {rec.id} is not running")
    return rec.id


def _exec(engine, ctl, client_fd: int, cid: str, cfg: dict, detach: bool) -> None:
    """In the child: check the container runs (a 409 while the client can still hear one),
    then, once the client has its 101, start the process (as Docker: output that came with
    the 101 would be lost to a client that reads the stream past its HTTP buffer, as
    docker-py does), pump, report its exit code."""
    from sampan.engine.options import ExecOptions
    from sampan.errors import SampanError
    _running_container(engine, cid)
    opts = ExecOptions(cid, cfg["Cmd"], env=cfg["Env"], user=cfg["User"] or None,
                       workdir=cfg["WorkingDir"] or None, tty=cfg["Tty"],
                       interactive=cfg["AttachStdin"] and not detach, privileged=cfg["Privileged"])
    first = ctl.ready(None)
    client = out = None
    if detach:
        os.close(client_fd)  # the connection stays the service's, for the client's next request
    elif first is not None:
        client = streams.client_socket(client_fd)
        out = streams.ClientOut(client, cfg["Tty"], (True, True))
    try:
        # invalid fds for the caller's stdio: stdout and stderr get pipes of their own, to frame apart
        handle = engine.exec(opts, stdio_fds=(-1, -1, -1))
    except SampanError as e:
        # after the 101 the stream is the only way left to say it (Docker's way too)
        if out is not None:
            out.write(streams.STDERR, f"{e}\n".encode())
        ctl.report(("exit", e.exit_code if e.exit_code != 125 else 126, 0))
        if client is not None:
            streams.hang_up(client)
        return
    ctl.report(("pid", handle.pid))
    if handle.pty_master is not None and cfg.get("ConsoleSize"):
        streams.set_tty_size(handle.pty_master, *cfg["ConsoleSize"])  # before the client's resize
    if out is not None:
        out.want = (cfg["AttachStdout"], cfg["AttachStderr"])
    code = streams.pump_exec(handle, client if cfg["AttachStdin"] else None, first or b"", ctl, out)
    ctl.report(("exit", code, handle.pid))  # known to the service before the client sees the end
    if client is not None:
        streams.hang_up(client)


def _record(req: Request) -> ExecRecord:
    e = _execs.get(req.params.get("id", ""))
    if e is None:
        raise ApiError(404, f"No such exec instance: {req.params.get('id', '')}")
    return e


@routes.post("/containers/{id}/exec")
async def create(req: Request) -> Reply:
    cfg = _config(await req.json({}))
    cid = await req.call(_running_container, ref_of(req))
    eid = os.urandom(32).hex()
    _forget_old()
    _execs[eid] = ExecRecord(eid, cid, cfg)
    return json_reply({"Id": eid}, 201)


@routes.post("/exec/{id}/start")
async def start(req: Request) -> Reply | None:
    e = _record(req)
    body = await req.json({})
    if not isinstance(body, dict):
        raise ApiError(400, "the exec start config must be a JSON object")
    detach = body.get("Detach") or False
    if not isinstance(detach, bool):
        raise ApiError(400, "Detach must be true or false")
    if e.started:
        raise ApiError(409, f"exec {e.id} has been started already")
    e.started = True
    try:
        link = await streams.fork_child(req, _exec, e.cid, e.cfg, detach)
    except BaseException:
        e.started = False
        raise
    e.running, e.link = True, link
    try:
        await link.go(None if detach else streams.content_type(e.cfg["Tty"]))
    except BaseException:
        e.running, e.link = False, None  # the client left before its stream: nobody will ask
        raise
    link.serve(e.on_message)
    return Reply(200) if detach else None


@routes.post("/exec/{id}/resize")
async def resize(req: Request) -> Reply:
    rows, cols = tty_size(req)
    e = _record(req)
    if not e.running or e.link is None:
        raise ApiError(409, f"exec {e.id} is not running")
    if e.cfg["Tty"]:
        await e.link.send(("resize", rows, cols))
    return Reply(200)


@routes.get("/exec/{id}/json")
async def inspect(req: Request) -> Reply:
    return json_reply(_record(req).to_docker())
