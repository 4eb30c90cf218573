"""How RegistryClient's requests reach a registry: the stdlib for small answers, httpx for blobs.

Both transports have one interface, ``send(method, url, headers, content)`` returning a
streamed response (``status_code``, ``headers.get(name)`` and ``name in headers`` without
regard to case, ``iter_bytes()``, ``close()``), and raise TransportError when the
connection fails or breaks. The policy (scheme, TLS context, auth, retries, error lines)
is RegistryClient's alone; a transport only moves bytes.

- LightTransport (here: http.client and ssl, ~10 ms to import where httpx costs ~45-180):
  the ping, tokens, manifests, HEADs, small PUTs. A re-pull of a known image needs no more.
- HttpxTransport (httpx_transport.py): blob downloads and streamed uploads (a pool shared by
  the parallel layer threads), and every request when a proxy is set in the environment
  (httpx's proxy and NO_PROXY rules; the stdlib path has none).
"""

from __future__ import annotations

import http.client
import os
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from urllib.parse import urljoin, urlsplit

CONNECT_TIMEOUT = 10.0     # seconds to connect (httpx's connect timeout in the other transport)
READ_TIMEOUT = 30.0        # seconds any one read may wait
ANSWER_DEADLINE = 60.0     # seconds a whole small answer may take (a server trickling bytes)
MAX_REDIRECTS = 10         # Go's http client, which Docker's daemon uses, stops after 10
CHUNK = 1 << 16
DRAIN_LIMIT = 64 << 10     # an unread body up to this size is read so its connection is reused
USER_AGENT = "sampan/0.1"
PROXY_VARS = ("https_proxy", "http_proxy", "all_proxy", "HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY")


class TransportError(Exception):
    """Could not connect, or the connection failed mid-answer (one line for messages)."""


def proxy_configured() -> bool:
    return any(os.environ.get(v) for v in PROXY_VARS)


class LightResponse:
    """One streamed answer on a connection of LightTransport's."""

    def __init__(self, resp: http.client.HTTPResponse, release: Callable[[bool], None],
                 deadline: float):
        self._resp = resp
        self._release: Callable[[bool], None] | None = release
        self._deadline = deadline
        self.status_code = resp.status
        self.headers = resp.headers          # email.message.Message: case-insensitive

    def iter_bytes(self) -> Iterator[bytes]:
        while True:
            if time.monotonic() > self._deadline:
                raise TransportError(f"answer not complete after {ANSWER_DEADLINE:g} s (timed out)")
            try:
                chunk = self._resp.read1(CHUNK)
            except (OSError, http.client.HTTPException) as e:
                raise TransportError(_describe(e)) from None
            if not chunk:
                left = self._resp.length     # read1 ends quietly where the peer hung up
                if left:
                    raise TransportError(f"connection closed {left} bytes before the end of the answer")
                return
            yield chunk

    def close(self) -> None:
        """Give the connection back when the answer was read (or is small enough to read
        now); otherwise close it: a connection with unread bytes cannot carry another."""
        release, self._release = self._release, None
        if release is None:
            return
        resp, reusable = self._resp, False
        try:
            if not resp.isclosed() and resp.length is not None and resp.length <= DRAIN_LIMIT:
                resp.read()
            reusable = resp.isclosed() and not resp.will_close
        except (OSError, http.client.HTTPException):
            pass
        release(reusable)


class LightTransport:
    """http.client connections, one per thread and origin, kept alive between requests."""

    def __init__(self, context: Callable[[], ssl.SSLContext]):
        self._context = context              # called at the first HTTPS connection
        self._local = threading.local()

    def _conns(self) -> dict:
        conns = getattr(self._local, "conns", None)
        if conns is None:
            conns = self._local.conns = {}
        return conns

    def _connect(self, scheme: str, netloc: str) -> http.client.HTTPConnection:
        try:
            parts = urlsplit(f"//{netloc}")
            host, port = parts.hostname or "", parts.port
        except ValueError:
            raise TransportError(f"bad address {netloc[:100]!r}") from None
        if scheme == "https":
            return _HTTPS(host, port, timeout=CONNECT_TIMEOUT, context=self._context())
        return _HTTP(host, port, timeout=CONNECT_TIMEOUT)

    def send(self, method: str, url: str, headers: dict[str, str], content: bytes | None = None
             ) -> LightResponse:
        deadline = time.monotonic() + ANSWER_DEADLINE
        headers = {"User-Agent": USER_AGENT, **headers}
        for _ in range(MAX_REDIRECTS + 1):
            try:
                parts = urlsplit(url)
            except ValueError:
                raise TransportError(f"cannot follow a redirect to {url[:100]!r}") from None
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise TransportError(f"cannot follow a redirect to {url[:100]!r}")
            resp, release = self._exchange(parts.scheme, parts.netloc, method,
                                           (parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
                                           headers, content)
            location = resp.getheader("location")
            if resp.status not in (301, 302, 303, 307, 308) or not location:
                return LightResponse(resp, release, deadline)
            LightResponse(resp, release, deadline).close()
            try:
                target = urljoin(url, location)
                origin = urlsplit(target)[:2]
            except ValueError:
                raise TransportError(f"cannot follow a redirect to {location[:100]!r}") from None
            if origin != parts[:2]:      # another origin: keep no credentials
                headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
            if resp.status == 303 or (resp.status in (301, 302) and method == "POST"):
                method, content = ("HEAD" if method == "HEAD" else "GET"), None
            url = target
        raise TransportError(f"more than {MAX_REDIRECTS} redirects (last to {url[:100]})")

    def _exchange(self, scheme: str, netloc: str, method: str, path: str,
                  headers: dict[str, str], content: bytes | None
                  ) -> tuple[http.client.HTTPResponse, Callable[[bool], None]]:
        key = (scheme, netloc)
        conns = self._conns()
        for attempt in (0, 1):
            conn = conns.pop(key, None)
            reused = conn is not None
            try:
                if conn is None:
                    conn = self._connect(scheme, netloc)
                conn.request(method, path, body=content, headers=headers)
                resp = conn.getresponse()
            except (OSError, http.client.HTTPException) as e:
                if conn is not None:
                    conn.close()
                # a kept-alive connection the server had closed: one retry on a fresh one
                if reused and attempt == 0 and isinstance(e, (http.client.RemoteDisconnected,
                                                              ConnectionResetError, BrokenPipeError)):
                    continue
                raise TransportError(_describe(e)) from None
            return resp, _releaser(conns, key, conn)
        raise AssertionError("unreachable")

    def close(self) -> None:
        for conn in self._conns().values():
            conn.close()
        self._conns().clear()


class _HTTP(http.client.HTTPConnection):
    def connect(self) -> None:
        super().connect()        # within CONNECT_TIMEOUT; each read after within READ_TIMEOUT
        self.sock.settimeout(READ_TIMEOUT)


class _HTTPS(http.client.HTTPSConnection):
    def connect(self) -> None:
        super().connect()        # TCP and the TLS handshake within CONNECT_TIMEOUT
        self.sock.settimeout(READ_TIMEOUT)


def _releaser(conns: dict, key: tuple, conn: http.client.HTTPConnection) -> Callable[[bool], None]:
    def release(reusable: bool) -> None:
        if reusable and key not in conns:
            conns[key] = conn
        else:
            conn.close()
    return release


def _describe(e: BaseException) -> str:
    if isinstance(e, TimeoutError):
        return "timed out"
    if isinstance(e, http.client.LineTooLong):
        return "the answer's headers are too long"
    if isinstance(e, http.client.HTTPException) and not str(e):
        return type(e).__name__
    return str(e) or type(e).__name__
