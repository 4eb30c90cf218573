"""A TCP listener for the API, only with TLS and client certificates (as dockerd's --tlsverify).

TLS ends here, in the service's event loop; each verified connection is then
served exactly like a unix-socket client: a socketpair's one end goes to the
service's normal connection handler and the decrypted bytes are pumped between
the other end and the TLS session. So everything the unix socket serves (streams,
hijacked attach and exec) works over TCP unchanged, and the forked children never
see TLS.

The TLS session is an ssl.SSLObject over memory buffers, driven by hand on the raw
socket, not asyncio's SSL transport: a docker client that has no more stdin sends
close_notify and goes on reading the output (a half-close), which asyncio's
transport cannot do; here it becomes the end of the request side only.
"""

from __future__ import annotations

import asyncio
import socket
import ssl

from sampan.errors import InvalidArgument

HANDSHAKE_TIMEOUT = 30.0


def tls_context(cacert: str | None, cert: str | None, key: str | None) -> ssl.SSLContext:
    """A server context that refuses any client without a certificate signed by `cacert`."""
    if not (cacert and cert and key):
        raise InvalidArgument("a TCP listener needs --tlscacert, --tlscert and --tlskey: clients must "
                              "present a certificate signed by that CA (as dockerd's --tlsverify)")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(cert, key)
        ctx.load_verify_locations(cafile=cacert)
    except (OSError, ssl.SSLError) as e:
        raise InvalidArgument(f"cannot use the TLS files: {e}") from None
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def parse_tcp(address: str) -> tuple[str, int]:
    """tcp://HOST:PORT -> (host, port)."""
    rest = address[len("tcp://"):]
    host, sep, port = rest.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise InvalidArgument(f"invalid address {address}: expected tcp://HOST:PORT")
    return host.strip("[]") or "0.0.0.0", int(port)


def tcp_listener(address: str) -> socket.socket:
    host, port = parse_tcp(address)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, port))
        s.listen(128)
    except OSError:
        s.close()
        raise
    s.setblocking(False)
    return s


class TlsConnection:
    """One client: the raw TCP socket, its TLS session, and the plain socket the service
    serves."""

    def __init__(self, raw: socket.socket, ctx: ssl.SSLContext) -> None:
        self.loop = asyncio.get_running_loop()
        self.raw = raw
        self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.tls = ctx.wrap_bio(self.incoming, self.outgoing, server_side=True)

    async def _flush(self) -> None:
        data = self.outgoing.read()
        if data:
            await self.loop.sock_sendall(self.raw, data)

    async def _feed(self) -> bool:
        data = await self.loop.sock_recv(self.raw, 65536)
        if not data:
            self.incoming.write_eof()
            return False
        self.incoming.write(data)
        return True

    async def handshake(self) -> None:
        while True:
            try:
                self.tls.do_handshake()
                await self._flush()
                return
            except ssl.SSLWantReadError:
                await self._flush()
                if not await self._feed():
                    raise ConnectionError("the client left during the TLS handshake")

    async def inbound(self, plain: socket.socket) -> None:
        """Client -> service, until the client's close_notify or EOF: then the service sees
        the end of the request side only."""
        try:
            while True:
                try:
                    data = self.tls.read(65536)
                except ssl.SSLWantReadError:
                    await self._flush()  # TLS 1.3 may answer a read (session tickets, key updates)
                    if not await self._feed():
                        break
                    continue
                except ssl.SSLZeroReturnError:
                    break  # close_notify: the client is done writing, not reading
                if not data:
                    break
                await self.loop.sock_sendall(plain, data)
        except (ConnectionError, OSError, ssl.SSLError):
            pass
        try:
            plain.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    async def outbound(self, plain: socket.socket) -> None:
        """Service -> client, until the service hangs up; then close_notify."""
        try:
            while True:
                data = await self.loop.sock_recv(plain, 65536)
                if not data:
                    break
                self.tls.write(data)
                await self._flush()
            try:
                self.tls.unwrap()
            except ssl.SSLError:
                pass
            await self._flush()
        except (ConnectionError, OSError, ssl.SSLError):
            pass


async def serve_tls(listener: socket.socket, ctx: ssl.SSLContext, adopt, track_fd, untrack_fd,
                    log) -> None:
    """Accept TLS clients on `listener` for ever. adopt(sock) serves a plain socket as an
    API client; track_fd/untrack_fd tell the service which fds its forked children must
    close; log(line) reports a refused client in one line."""
    loop = asyncio.get_running_loop()
    while True:
        raw, peer = await loop.sock_accept(listener)
        raw.setblocking(False)
        track_fd(raw.fileno())
        task = asyncio.ensure_future(_serve_one(raw, peer, ctx, adopt, track_fd, untrack_fd, log))
        _TASKS.add(task)
        task.add_done_callback(_TASKS.discard)


_TASKS: set = set()  # asyncio keeps only weak references to tasks


async def _serve_one(raw: socket.socket, peer, ctx, adopt, track_fd, untrack_fd, log) -> None:
    conn = TlsConnection(raw, ctx)
    plain = None
    try:
        try:
            await asyncio.wait_for(conn.handshake(), HANDSHAKE_TIMEOUT)
        except (ssl.SSLError, ConnectionError, OSError, asyncio.TimeoutError) as e:
            log(f"refused a TCP client {peer[0]}: {getattr(e, 'reason', None) or e or 'handshake timed out'}")
            try:
                await conn._flush()  # the alert that says why
            except OSError:
                pass
            return
        plain, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        plain.setblocking(False)
        track_fd(plain.fileno())
        adopt(theirs)
        inbound = asyncio.ensure_future(conn.inbound(plain))
        try:
            await conn.outbound(plain)  # the service hanging up ends the connection
        finally:
            inbound.cancel()
    finally:
        if plain is not None:
            untrack_fd(plain.fileno())
            plain.close()
        untrack_fd(raw.fileno())
        raw.close()
