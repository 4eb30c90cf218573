"""`sampan system service`: serve the Docker Engine API on a unix socket.

One asyncio thread accepts connections and parses HTTP (http.py); each engine
call runs in a child forked for it (children.py). The socket is 0660, owned by
root and by the `sampan` group when that group exists (as Docker's `docker`
group). With `--time N` the service exits after N seconds with no client and no
call in flight; 0 serves until stopped (SIGTERM or SIGINT).

Started by systemd's socket activation (contrib/sampan.socket), the service
takes the listening socket it inherits (fd 3, LISTEN_PID and LISTEN_FDS: the
sd_listen_fds protocol) instead of making one, and leaves it in place on exit.
A connection that carries no request for IDLE_CONNECTION seconds is closed, so
a client that connects and sends nothing holds nothing for long.
"""

from __future__ import annotations

import asyncio
import gc
import grp
import os
import signal
import socket
import sys
import time

from sampan import __version__
from sampan.errors import InvalidArgument, SampanError
from sampan.server.children import Children, EngineSpec
from sampan.server.http import ClientGone, Connection, Reply
from sampan.server.router import MAX_VERSION, Router, version_str

SD_LISTEN_FDS_START = 3
IDLE_CONNECTION = 300.0   # seconds a kept-alive connection may wait for its next request
STOP_GRACE = 5.0          # seconds calls get to end at shutdown before their children are killed


def socket_path(address: str | None, runroot: str) -> str:
    """unix:///PATH or a plain path; the default is RUNROOT/sampan.sock."""
    if not address:
        return os.path.join(runroot, "sampan.sock")
    if address.startswith("unix://"):
        path = address[len("unix://"):]
    elif "://" in address:
        raise InvalidArgument(f"cannot serve on {address}: give unix:///PATH, or tcp://HOST:PORT with "
                              "--tlscacert, --tlscert and --tlskey")
    else:
        path = address
    if not path.startswith("/"):
        raise InvalidArgument(f"socket path must be absolute: {path}")
    return path


def _seconds(text: str | None, default: float) -> float:
    try:
        value = float(text) if text else default
    except ValueError:
        return default
    return value if value > 0 else default


def inherited_listener() -> socket.socket | None:
    """The listening socket systemd passed (sd_listen_fds), or None. The variables are
    removed so that no child takes them for its own."""
    pid, fds = os.environ.pop("LISTEN_PID", None), os.environ.pop("LISTEN_FDS", None)
    os.environ.pop("LISTEN_FDNAMES", None)
    if pid is None or fds is None:
        return None
    try:
        if int(pid) != os.getpid() or int(fds) < 1:
            return None
    except ValueError:
        return None
    if int(fds) > 1:
        raise SampanError(f"systemd passed {fds} sockets; sampan serves one (give its socket unit one ListenStream)")
    try:
        s = socket.socket(fileno=SD_LISTEN_FDS_START)
    except OSError as e:
        raise SampanError(f"the socket systemd passed (fd {SD_LISTEN_FDS_START}) is unusable: {e.strerror}") from None
    if s.family != socket.AF_UNIX or s.type != socket.SOCK_STREAM:
        s.detach()
        raise SampanError("the socket systemd passed is not a unix stream socket (ListenStream=/PATH)")
    os.set_inheritable(s.fileno(), False)
    s.setblocking(False)
    return s


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
    def __init__(self, spec: EngineSpec, path: str, idle_time: float, listener: socket.socket,
                 owns_path: bool = True) -> None:
        self.spec, self.path, self.idle_time = spec, path, idle_time
        self.listener = listener
        self.tls: list = []          # (listening TCP socket, ssl context): served with TLS only
        self.owns_path = owns_path   # False for systemd's socket: not ours to remove
        self.idle_connection = _seconds(os.environ.get("SAMPAN_API_IDLE_CONNECTION"), IDLE_CONNECTION)
        self.children = Children(spec)
        self.connections = 0
        self.serving: set[asyncio.Task] = set()
        self.stopping: asyncio.Event | None = None
        from sampan.server import routes
        self.router = Router(routes.all_groups())
        self.extra_headers = [("Api-Version", version_str(MAX_VERSION)), ("Docker-Experimental", "false"),
                              ("Ostype", "linux"), ("Builder-Version", "1"),
                              ("Server", f"sampan/{__version__} (linux)")]

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        self.stopping = asyncio.Event()
        listener = self.listener
        self.children.track_fd(listener.fileno())
        self.children.install(loop)
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stopping.set)
        gc.freeze()  # the warm heap stays shared with every child instead of copied
        accept = asyncio.ensure_future(self._accept(listener))
        idle = asyncio.ensure_future(self._idle_watch())
        tcp = []
        for tcp_listener, ctx in self.tls:
            from sampan.server.tls_listener import serve_tls
            self.children.track_fd(tcp_listener.fileno())
            tcp.append(asyncio.ensure_future(serve_tls(
                tcp_listener, ctx, self.adopt, self.children.track_fd, self.children.untrack_fd,
                lambda line: print(f"sampan: {line}", file=sys.stderr, flush=True))))
        try:
            await self.stopping.wait()
        finally:
            accept.cancel()
            idle.cancel()
            listener.close()
            for task in tcp:
                task.cancel()
            for tcp_listener, _ in self.tls:
                tcp_listener.close()
            if self.owns_path:
                try:
                    os.unlink(self.path)
                except FileNotFoundError:
                    pass
            await self._close_all()

    async def _close_all(self) -> None:
        """Hang up on every client, which ends the calls they wait for (a cancelled call
        kills its child); then no child may outlive the service: the rest get SIGTERM,
        and SIGKILL after STOP_GRACE seconds."""
        for task in list(self.serving):
            task.cancel()
        if self.serving:
            await asyncio.wait(list(self.serving), timeout=STOP_GRACE)
        deadline = time.monotonic() + STOP_GRACE
        sig = signal.SIGTERM
        while self.children.live:
            for pid in list(self.children.live):
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            await asyncio.sleep(0.05)
            self.children._reap()
            if time.monotonic() > deadline + STOP_GRACE:
                break   # stuck in the kernel: nothing more a signal can do
            if time.monotonic() > deadline:
                sig = signal.SIGKILL

    async def _accept(self, listener: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while True:
            sock, _ = await loop.sock_accept(listener)
            self.adopt(sock)

    def adopt(self, sock: socket.socket) -> None:
        """Serve a connected socket as an API client (the unix listener's, or the plain end of
        a TLS connection's pipe: tls_listener.py)."""
        sock.setblocking(False)
        self.children.track_fd(sock.fileno())
        self.connections += 1
        task = asyncio.ensure_future(self._serve(sock))
        self.serving.add(task)
        task.add_done_callback(self.serving.discard)

    async def _serve(self, sock: socket.socket) -> None:
        import h11
        conn = Connection(sock, self.extra_headers, self.children)
        try:
            while True:
                try:
                    req = await asyncio.wait_for(conn.next_request(), self.idle_connection)
                except asyncio.TimeoutError:
                    return  # a client that holds a connection and sends nothing
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
            if quiet >= self.idle_time and self.stopping is not None:
                self.stopping.set()
                return


def serve(address: str | None, idle_time: float, root: str | None, runroot: str | None,
          runtime: str | None, tcp: tuple[str, ...] | list[str] = (), tls_files: tuple = (None, None, None)) -> int:
    """Serve on `address` (unix; default RUNROOT/sampan.sock) and on each tcp://HOST:PORT of
    `tcp` with TLS: tls_files = (CA that signs the clients' certificates, cert, key)."""
    from sampan.state.paths import Paths
    paths = Paths.from_env(root, runroot)
    spec = EngineSpec(str(paths.root), str(paths.runroot), runtime)
    listener = inherited_listener()
    if listener is not None:
        path = listener.getsockname()
        if not isinstance(path, str) or not path:
            raise SampanError("the socket systemd passed has no path (ListenStream=/PATH)")
    else:
        path = socket_path(address, str(paths.runroot))
    tls = []  # the TCP listeners first: one that fails leaves no unix socket behind
    if tcp:
        from sampan.server.tls_listener import tcp_listener, tls_context
        ctx = tls_context(*tls_files)
        for a in tcp:
            try:
                tls.append((tcp_listener(a), ctx))
            except OSError as e:
                raise SampanError(f"cannot listen on {a}: {e.strerror}") from None
    from sampan.engine import Engine
    Engine.warm()  # each child forked for a call starts with the engine loaded
    owns = listener is None
    if listener is None:
        listener = _listen(path)
    service = Service(spec, path, idle_time, listener, owns)
    service.tls = tls
    where = " and ".join([f"unix://{path}"] + [f"{a} (TLS, client certificates)" for a in tcp])
    print(f"sampan: serving the Docker Engine API {version_str(MAX_VERSION)} on {where}", file=sys.stderr)
    asyncio.run(service.run())
    return 0
