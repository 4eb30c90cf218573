"""RegistryClient's bulk transport: httpx, for blobs and streamed uploads (see transport.py).

A pool of connections shared by the parallel layer threads, streamed request bodies, and
the environment's proxy settings. Its failures come out as transport.TransportError, as the
light transport's do, so the client's policy code never names httpx.
"""

from __future__ import annotations

import ssl
import sys
from collections.abc import Iterator

# httpx's __init__ imports its own command line tool (click + rich, ~90 ms of every push and
# pull) whenever those are installed; a None entry makes that optional import fail at once.
# Removed right after, so anyone who does want httpx's CLI can still import it.
if "httpx" not in sys.modules and "httpx._main" not in sys.modules:
    sys.modules["httpx._main"] = None   # type: ignore[assignment]
    try:
        import httpx
    finally:
        del sys.modules["httpx._main"]
import httpx  # noqa: E402

from sampan.registry.transport import (CONNECT_TIMEOUT, MAX_REDIRECTS, READ_TIMEOUT,  # noqa: E402
                                       USER_AGENT, TransportError)


class HttpxResponse:
    def __init__(self, resp: httpx.Response):
        self._resp = resp
        self.status_code = resp.status_code
        self.headers = resp.headers          # httpx.Headers: case-insensitive

    def iter_bytes(self) -> Iterator[bytes]:
        try:
            yield from self._resp.iter_bytes()
        except httpx.HTTPError as e:
            raise TransportError(str(e) or type(e).__name__) from None

    def close(self) -> None:
        self._resp.close()


class HttpxTransport:
    def __init__(self, context: ssl.SSLContext):
        self._client = httpx.Client(verify=context, follow_redirects=True,
                                    max_redirects=MAX_REDIRECTS,
                                    timeout=httpx.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT),
                                    headers={"User-Agent": USER_AGENT})

    def send(self, method: str, url: str, headers: dict[str, str], content=None) -> HttpxResponse:
        try:
            req = self._client.build_request(method, url, headers=headers, content=content)
            return HttpxResponse(self._client.send(req, stream=True))
        except (httpx.HTTPError, httpx.InvalidURL) as e:   # TooManyRedirects is no TransportError
            raise TransportError(str(e) or type(e).__name__) from None

    def close(self) -> None:
        self._client.close()
