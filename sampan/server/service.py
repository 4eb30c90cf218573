"""`sampan system service`: serve the Docker Engine API on a unix socket.

One asyncio thread accepts connections and parses HTTP (http.py); each engine
call runs in a child forked for it (children.py). The socket is 0660, owned by
root and by the `sampan` group when that group exists (as Docker's `docker`
group). With `--time N` the service exits after N seconds with no client and no
call in flight; 0 serves until stopped (SIGTERM or SIGINT).
"""

from __future__ import annotations

import asyncio
import gc
import grp
import os
import signal
import socket
import sys

from sampan import __version__
from sampan.errors import InvalidArgument, SampanError
from sampan.server.children import Children, EngineSpec
from sampan.server.http import ClientGone, Connection, Reply
from sampan.server.router import MAX_VERSION, Router, version_str


def socket_path(address: str | None, runroot: str) -> str:
    """unix:///PATH or a plain path; the default is RUNROOT/sampan.sock."""
    if not address:
        return os.path.join(runroot, "sampan.sock")
    if address.startswith("unix://"):
        path = address[len("unix://"):]
    elif "://" in address:
        raise InvalidArgument(f"cannot serve on {address}: only unix:// sockets are served (a TCP "
                              "listener would need TLS with client certificates, which sampan does not have yet)")
    else:
        path = address
    if not path.startswith("/"):
        raise InvalidArgument(f"socket path must be absolute: {path}")
    return path


def _listen(path: str) -> socket.socket:
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(path)
    except FileNotFoundError:
        pass
    except ConnectionRefusedError:
        os.unlink(path)  # a service that died left its socket
    except OSError as e:
        raise SampanError(f"cannot use {path}: {e.strerror}") from None
    else:
        raise SampanError(f"a service already listens on {path}")
    finally:
        probe.close()
    os.makedirs(os.path.dirname(path), mode=0o711, exist_ok=True)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    old = os.umask(0o177)  # nobody may connect before the mode and group are set
    try:
        s.bind(path)
    finally:
        os.umask(old)
    try:
        gid = grp.getgrnam("sampan").gr_gid
    except KeyError:
        gid = 0
    os.chown(path, 0, gid)
    os.chmod(path, 0o660)
    s.listen(128)
    s.setblocking(False)
    return s


class Service:
    def __init__(self, spec: EngineSpec, path: str, idle_time: float) -> None:
        self.spec, self.path, self.idle_time = spec, path, idle_time
        self.children = Children(spec)
        self.connections = 0
        self.stopping: asyncio.Event | None = None
        from sampan.server import routes
        self.router = Router(routes.all_groups())
        self.extra_headers = [("Api-Version", version_str(MAX_VERSION)), ("Docker-Experimental", "false"),
                              ("Ostype", "linux"), ("Builder-Version", "1"),
                              ("Server", f"sampan/{__version__} (linux)")]

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        self.stopping = asyncio.Event()
        listener = _listen(self.path)
        self.children.track_fd(listener.fileno())
        self.children.install(loop)
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stopping.set)
        gc.freeze()  # the warm heap stays shared with every child instead of copied
        accept = asyncio.ensure_future(self._accept(listener))
        idle = asyncio.ensure_future(self._idle_watch())
        try:
            await self.stopping.wait()
        finally:
            accept.cancel()
            idle.cancel()
            listener.close()
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass

    async def _accept(self, listener: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while True:
            sock, _ = await loop.sock_accept(listener)
            sock.setblocking(False)
            self.children.track_fd(sock.fileno())
            self.connections += 1
            asyncio.ensure_future(self._serve(sock))

    async def _serve(self, sock: socket.socket) -> None:
        import h11
        conn = Connection(sock, self.extra_headers, self.children)
        try:
            while True:
                try:
                    req = await conn.next_request()
                except h11.RemoteProtocolError as e:
                    if conn.can_reply():
                        try:
                            await conn.reply(Reply(400, {"message": f"bad request: {e}"}))
                        except (h11.LocalProtocolError, ClientGone):
                            pass
                    return
                if req is None:
                    return
                await self.router.dispatch(req)
                if conn.hijacked:
                    return
                await conn.drain_body()
                if not conn.next_cycle():
                    return
        except (ClientGone, h11.RemoteProtocolError, h11.LocalProtocolError):
            return
        finally:
            self.connections -= 1
            self.children.untrack_fd(sock.fileno())
            sock.close()

    async def _idle_watch(self) -> None:
        if self.idle_time <= 0:
            return
        quiet = 0.0
        step = min(1.0, self.idle_time)
        while True:
            await asyncio.sleep(step)
            busy = self.connections or self.children.live
            quiet = 0.0 if busy else quiet + step
            if quiet >= self.idle_time:
                self.stopping.set()
                return


def serve(address: str | None, idle_time: float, root: str | None, runroot: str | None,
          runtime: str | None) -> int:
    from sampan.state.paths import Paths
    paths = Paths.from_env(root, runroot)
    spec = EngineSpec(str(paths.root), str(paths.runroot), runtime)
    path = socket_path(address, str(paths.runroot))
    from sampan.engine import Engine
    Engine.warm()  # each child forked for a call starts with the engine loaded
    service = Service(spec, path, idle_time)
    print(f"sampan: serving the Docker Engine API {version_str(MAX_VERSION)} on unix://{path}", file=sys.stderr)
    asyncio.run(service.run())
    return 0
