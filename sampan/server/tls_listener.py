"""A TCP listener for the API, only with TLS and client certificates (as dockerd's --tlsverify).

TLS ends here, in the service's event loop; each verified connection is then
served exactly like a unix-socket client: a socketpair's one end goes to the
service's normal connection handler and the decrypted bytes are pumped between
the other end and the TLS stream. So everything the unix socket serves (streams,
hijacked attach and exec) works over TCP unchanged, and the forked children
never see TLS.
"""

from __future__ import annotations

import asyncio
import socket
import ssl

from sampan.errors import InvalidArgument


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


async def listen_tls(address: str, ctx: ssl.SSLContext, adopt, track_fd, untrack_fd) -> asyncio.AbstractServer:
    """Serve `address` with TLS. adopt(sock) serves a plain socket as an API client;
    track_fd/untrack_fd tell the service which fds its forked children must close."""
    host, port = parse_tcp(address)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        raw = writer.get_extra_info("socket")
        fd = raw.fileno() if raw is not None else -1
        if fd >= 0:
            track_fd(fd)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        ours.setblocking(False)
        track_fd(ours.fileno())
        adopt(theirs)

        async def inbound() -> None:  # client -> service
            try:
                while True:
                    data = await reader.read(65536)
                    if not data:
                        ours.shutdown(socket.SHUT_WR)
                        return
                    await loop.sock_sendall(ours, data)
            except (ConnectionError, OSError, ssl.SSLError):
                ours.shutdown(socket.SHUT_WR)

        async def outbound() -> None:  # service -> client
            while True:
                data = await loop.sock_recv(ours, 65536)
                if not data:
                    if writer.can_write_eof():
                        writer.write_eof()
                    return
                writer.write(data)
                await writer.drain()

        tasks = [asyncio.ensure_future(inbound()), asyncio.ensure_future(outbound())]
        try:
            # the service hanging up ends the connection; the client's EOF only half-closes
            # it (a hijacked stdin ends while the output goes on)
            await tasks[1]
        except (ConnectionError, OSError, ssl.SSLError):
            pass
        finally:
            for t in tasks:
                t.cancel()
            untrack_fd(ours.fileno())
            ours.close()
            if fd >= 0:
                untrack_fd(fd)
            writer.close()

    return await asyncio.start_server(handle, host, port, ssl=ctx, reuse_address=True)
