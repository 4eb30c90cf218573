"""One registry host, spoken to over the OCI distribution API (/v2/).

Handles the scheme (HTTPS, or HTTP for insecure/loopback hosts), the auth dance
(Bearer tokens per scope from the WWW-Authenticate challenge, or Basic), 429 with
Retry-After, and maps every failure to one RegistryError/ImageNotFound line. The bytes
go through transport.py: the stdlib for small answers (a re-pull of a known image never
imports httpx), httpx for blobs. Nothing on the `run` path imports this module.
"""

from __future__ import annotations

import base64
import json
import time
from contextlib import contextmanager
from typing import Any, Iterator
from urllib.parse import urlencode, urlparse

from sampan.errors import ImageNotFound, RegistryError
from sampan.registry import credentials, names
from sampan.registry.challenge import parse_challenges
from sampan.registry.tls import ssl_context
from sampan.registry.transport import LightTransport, TransportError, proxy_configured

MAX_TOKEN_BYTES = 1 << 20
MAX_ERROR_BYTES = 64 << 10
RETRY_AFTER_CAP = 5        # seconds we are willing to wait on a 429/503 ourselves
RETRIES = 3


def _registry_message(resp: Any) -> str:
    """The registry's own error text ({"errors":[{"code","message"}]}), short."""
    try:
        body = _read_capped(resp, MAX_ERROR_BYTES)
        errs = json.loads(body).get("errors") or []
        parts = [f"{e.get('code', '')}: {e.get('message', '')}".strip(": ") for e in errs[:3]]
        return "; ".join(p for p in parts if p)[:300]
    except Exception:
        return ""


class RegistryClient:
    """Speaks to one registry for one image name; thread-safe enough for parallel blobs
    (the light transport keeps a connection per thread, httpx's pool is shared; the token
    cache is a dict with whole-value writes). ``bulk``: every request through httpx (push
    streams its blobs); otherwise only those a caller marks bulk (blob downloads)."""

    def __init__(self, domain: str, image: str, *, tls_verify: bool | None = None,
                 auth: tuple[str, str] | None = None, bulk: bool = False):
        self.domain = domain
        self.host = names.api_host(domain)
        self.image = image                     # for messages: "127.0.0.1:5000/x:tag"
        self.auth = auth if auth is not None else credentials.get_credentials(domain)
        self.tls_verify = tls_verify
        allow_http = (tls_verify is False or names.is_loopback(self.host)
                      or self.host in names.insecure_registries(
                          credentials.read_config(credentials.config_path())))
        self._schemes = ["https", "http"] if allow_http else ["https"]
        self._base: str | None = None
        self._bulk_default = bulk or proxy_configured()   # proxies: httpx's rules only
        self._ctx: Any = None
        self._light: LightTransport | None = None
        self._heavy: Any = None
        self._tokens: dict[str, str] = {}
        self._basic = False

    # --- connection ---
    def close(self) -> None:
        for t in (self._light, self._heavy):
            if t is not None:
                t.close()

    def __enter__(self) -> "RegistryClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _context(self) -> Any:
        if self._ctx is None:
            self._ctx = ssl_context(self.host, self.tls_verify is not False)
        return self._ctx

    def _transport(self, bulk: bool) -> Any:
        if bulk or self._bulk_default:
            if self._heavy is None:
                from sampan.registry.httpx_transport import HttpxTransport
                self._heavy = HttpxTransport(self._context())
            return self._heavy
        if self._light is None:
            self._light = LightTransport(self._context)
        return self._light

    def _pick_base(self) -> str:
        """Probe /v2/ once per allowed scheme (HTTPS first); the first that answers like a
        registry wins. A TLS server answering our plain-HTTP probe does not count."""
        if self._base:
            return self._base
        errors: list[str] = []
        for scheme in self._schemes:
            if scheme == "https" and len(self._schemes) > 1 and not _speaks_tls(self.host):
                continue     # a plain-HTTP registry: skip the HTTPS probe (and loading the CAs)
            base = f"{scheme}://{self.host}"
            try:
                probe = self._transport(False).send("GET", base + "/v2/", {})
                probe.close()   # headers are all we need; never read a body we did not ask for
            except TransportError as e:
                errors.append(_short(e))
                continue
            if probe.status_code not in (200, 401, 403) and \
                    "docker-distribution-api-version" not in probe.headers:
                errors.append(f"{base}/v2/ answered HTTP {probe.status_code}, not a registry")
                continue
            # A Basic challenge here saves a 401 round trip on every later request.
            if probe.status_code == 401 and self.auth and any(
                    c.scheme == "basic" for c in parse_challenges(probe.headers.get("www-authenticate", ""))):
                self._basic = True
            self._base = base
            return base
        first = errors[0] if errors else "unknown error"
        if "CERTIFICATE_VERIFY_FAILED" in first or "certificate verify failed" in first:
            hint = (" (install the registry's CA in the system store or certs.d/"
                    f"{self.host}/ca.crt, or use --tls-verify=false)")
        elif len(self._schemes) == 1:
            hint = " (for a plain-HTTP registry use --tls-verify=false or add it to insecure-registries)"
        else:
            hint = ""
        raise RegistryError(f"{self.image}: cannot reach registry {self.host}: {first}{hint}")

    # --- auth ---
    def _token(self, challenge_params: dict[str, str], scopes: list[str]) -> str:
        realm = challenge_params.get("realm", "")
        if urlparse(realm).scheme not in ("http", "https"):
            raise RegistryError(f"{self.image}: registry {self.host} sent an unusable token realm {realm[:80]!r}")
        query: list[tuple[str, str]] = []
        if challenge_params.get("service"):
            query.append(("service", challenge_params["service"]))
        wanted = list(dict.fromkeys(scopes + ([challenge_params["scope"]] if challenge_params.get("scope") else [])))
        query += [("scope", s) for s in wanted]
        headers = {}
        if self.auth:
            headers["Authorization"] = _basic(self.auth)
        sep = "&" if "?" in realm else "?"
        try:
            r = self._transport(False).send("GET", realm + sep + urlencode(query), headers)
            try:
                status = r.status_code
                body = _read_capped(r, MAX_TOKEN_BYTES, self.host)
            finally:
                r.close()
        except TransportError as e:
            raise RegistryError(f"{self.image}: cannot reach the token server for {self.host}: {_short(e)}") from None
        if status in (401, 403):
            raise RegistryError(f"{self.image}: authentication to {self.host} failed "
                                f"({'wrong username or password' if self.auth else 'login required'}); "
                                f"run `sampan login {self.domain}`")
        if status != 200:
            raise RegistryError(f"{self.image}: token server for {self.host} answered HTTP {status}")
        try:
            doc = json.loads(body)
            token = doc.get("token") or doc.get("access_token")
        except (ValueError, AttributeError):
            token = None
        if not isinstance(token, str) or not token:
            raise RegistryError(f"{self.image}: token server for {self.host} sent no token")
        return token

    def _auth_header(self, scope_key: str) -> dict[str, str]:
        if scope_key in self._tokens:
            return {"Authorization": "Bearer " + self._tokens[scope_key]}
        if self._basic and self.auth:
            return {"Authorization": _basic(self.auth)}
        return {}

    def _answer_challenge(self, resp: Any, scopes: list[str], scope_key: str) -> bool:
        """Learn from a 401; True when a retry may now succeed."""
        for ch in parse_challenges(resp.headers.get("www-authenticate", "")):
            if ch.scheme == "bearer":
                self._tokens[scope_key] = self._token(ch.params, scopes)
                return True
            if ch.scheme == "basic" and self.auth and not self._basic:
                self._basic = True
                return True
        return False

    # --- requests ---
    @contextmanager
    def request(self, method: str, path: str, *, scopes: list[str], what: str,
                ok: tuple[int, ...] = (200,), headers: dict | None = None, content=None,
                absolute: bool = False, allow_404: bool = False, bulk: bool = False) -> Iterator[Any]:
        """Send a request (streamed response) with auth and retries; raise on a status not
        in ok. The response body is left unread for the caller to stream. ``bulk``: through
        httpx (a blob); a streamed body (an iterator) always is."""
        url = path if absolute else self._pick_base() + path
        scope_key = " ".join(sorted(scopes))
        attempts_auth, attempts_retry = 0, 0
        while True:
            hdrs = dict(headers or {})
            hdrs.update(self._auth_header(scope_key))
            body = content() if callable(content) else content   # fresh iterator per attempt
            transport = self._transport(bulk or not (body is None or isinstance(body, bytes)))
            try:
                resp = transport.send(method, url, hdrs, body)
            except TransportError as e:
                if method in ("GET", "HEAD") and attempts_retry < 1:
                    attempts_retry += 1
                    continue
                raise RegistryError(f"{self.image}: network error talking to {self.host} "
                                    f"while {what}: {_short(e)}") from None
            try:
                if resp.status_code == 401 and attempts_auth < 1:
                    attempts_auth += 1
                    if self._answer_challenge(resp, scopes, scope_key):
                        resp.close()
                        continue
                if resp.status_code in (429, 503) and attempts_retry < RETRIES:
                    wait = _retry_after(resp)
                    if wait is not None and wait <= RETRY_AFTER_CAP:
                        attempts_retry += 1
                        resp.close()
                        time.sleep(wait)
                        continue
                if resp.status_code in ok or (allow_404 and resp.status_code == 404):
                    try:
                        yield resp
                    except TransportError as e:   # raised while the caller streamed the body
                        raise RegistryError(f"{self.image}: network error talking to {self.host} "
                                            f"while {what}: {_short(e)}") from None
                    return
                self._fail(resp, what)
            finally:
                resp.close()

    def _fail(self, resp: Any, what: str) -> None:
        status = resp.status_code
        detail = _registry_message(resp)
        suffix = f" ({detail})" if detail else ""
        if status == 401:
            hint = "wrong username or password" if self.auth else f"run `sampan login {self.domain}`"
            raise RegistryError(f"{self.image}: authentication required by {self.host} while {what}; {hint}")
        if status == 403:
            raise RegistryError(f"{self.image}: access denied by {self.host} while {what}{suffix}")
        if status == 404:
            raise ImageNotFound(f"{self.image}: not found on {self.host} while {what}{suffix}")
        if status == 429:
            wait = _retry_after(resp)
            when = f"; retry after {wait:g} seconds" if wait is not None else ""
            raise RegistryError(f"{self.image}: {self.host} is rate limiting requests (HTTP 429) "
                                f"while {what}{when}")
        raise RegistryError(f"{self.image}: {self.host} answered HTTP {status} while {what}{suffix}")

    def url(self, path: str) -> str:
        return self._pick_base() + path

    def check_login(self) -> None:
        """GET /v2/ with credentials: succeeds only if the registry accepts them."""
        with self.request("GET", "/v2/", scopes=[], what="logging in"):
            pass


def _speaks_tls(hostport: str) -> bool:
    """Whether hostport answers a TLS handshake (certificates unchecked: only used to choose
    between HTTPS and plain HTTP where both are allowed; HTTPS is then verified as usual).
    Unknown (unreachable, timeout): True, so the real HTTPS probe reports the error."""
    import socket
    import ssl
    parts = urlparse("//" + hostport)
    try:
        host, port = parts.hostname or hostport, parts.port or 443
    except ValueError:
        return True
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection((host, port), timeout=5) as sock:
            with ctx.wrap_socket(sock, server_hostname=host):
                return True
    except ssl.SSLError:
        return False      # something answered, but not TLS
    except OSError:
        return True


def _basic(auth: tuple[str, str]) -> str:
    return "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()


def _retry_after(resp: Any) -> float | None:
    value = resp.headers.get("retry-after", "").strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        if not value:
            return None
        from email.utils import parsedate_to_datetime
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


def _read_capped(resp: Any, cap: int, host: str = "the registry") -> bytes:
    chunks, total = [], 0
    for chunk in resp.iter_bytes():
        total += len(chunk)
        if total > cap:
            raise RegistryError(f"response from {host} is larger than {cap} bytes; refused")
        chunks.append(chunk)
    return b"".join(chunks)


def _short(e: Exception | None) -> str:
    text = str(e) if e else "unknown error"
    return (text.splitlines() or ["unknown error"])[0][:200] or type(e).__name__
