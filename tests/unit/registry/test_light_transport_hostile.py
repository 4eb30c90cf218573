"""Hostile answers to the requests of a re-pull (the ping and the manifest), which go over
the stdlib transport (registry/transport.py): each one is refused with one clear line,
bounded in bytes and in time, and nothing is left in the store."""

import json
import socket
import time

import pytest

from sampan.errors import DigestMismatch, RegistryError, SampanError
from sampan.registry import pull, transport
from tests.unit.registry.images import make_image
from tests.unit.registry.rawserver import RawServer


def _head(status: str, headers: dict) -> bytes:
    return (f"HTTP/1.1 {status}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            + "\r\n").encode()


def _manifest_answer(body: bytes, **extra) -> bytes:
    return _head("200 OK", {"Content-Type": "application/vnd.oci.image.manifest.v1+json",
                            "Content-Length": str(len(body)), **extra}) + body


def _pull_fails(store, host, exc=RegistryError, match=None):
    with pytest.raises(exc, match=match) as info:
        pull(store, f"{host}/x/app:1", progress=False)
    message = info.value.message
    assert "\n" not in message and "Traceback" not in message
    assert store.blob_count() == 0 and store.images == {}
    assert not list(store.paths.tmp.glob("*")), "scratch files left behind"
    return message


def test_a_manifest_declared_huge_is_refused_before_its_body(store):
    def answer(path, headers, conn):
        conn.sendall(_head("200 OK", {"Content-Type": "application/vnd.oci.image.manifest.v1+json",
                                      "Content-Length": str(1 << 40)}) + b"{" * 1000)
        return False
    with RawServer(answer) as srv:
        _pull_fails(store, srv.host, match=r"manifest is 1099511627776 bytes; refused")


def test_an_endless_chunked_manifest_stops_at_the_limit(store):
    sent = []

    def answer(path, headers, conn):
        conn.sendall(_head("200 OK", {"Content-Type": "application/vnd.oci.image.manifest.v1+json",
                                      "Transfer-Encoding": "chunked"}))
        chunk = b"%x\r\n%s\r\n" % (65536, b" " * 65536)
        try:
            for _ in range(100_000):             # 6 GiB if nobody stops reading
                conn.sendall(chunk)
                sent.append(65536)
        except OSError:
            pass
        return False
    with RawServer(answer) as srv:
        _pull_fails(store, srv.host, match=r"manifest is larger than \d+ bytes; refused")
    assert sum(sent) < 64 << 20      # the client stopped reading near the limit (4 MiB) + buffers


def test_a_malformed_manifest_is_refused(store):
    for body in (b"not json{", b"[]", json.dumps({"schemaVersion": 2, "layers": "x"}).encode()):
        def answer(path, headers, conn, body=body):
            conn.sendall(_manifest_answer(body))
            return True
        with RawServer(answer) as srv:
            _pull_fails(store, srv.host)


def test_a_wrong_digest_header_is_refused(store):
    img = make_image(1)

    def answer(path, headers, conn):
        conn.sendall(_manifest_answer(img.manifest, **{"Docker-Content-Digest": "sha256:" + "0" * 64}))
        return True
    with RawServer(answer) as srv:
        _pull_fails(store, srv.host, DigestMismatch, match="does not match the digest the registry declared")


def test_a_redirect_loop_is_cut_off(store):
    def answer(path, headers, conn):
        conn.sendall(_head("302 Found", {"Location": path, "Content-Length": "0"}))
        return True
    with RawServer(answer) as srv:
        msg = _pull_fails(store, srv.host, match=f"more than {transport.MAX_REDIRECTS} redirects")
        asked = [p for _, p, _ in srv.requests if "/manifests/" in p]
    assert "while fetching the manifest" in msg
    assert len(asked) <= 2 * (transport.MAX_REDIRECTS + 1)     # one retry of a GET at most


@pytest.mark.parametrize("location", ["file:///etc/passwd", "gopher://127.0.0.1/x", "http://[::1"])
def test_a_redirect_to_another_scheme_is_not_followed(store, location):
    def answer(path, headers, conn):
        conn.sendall(_head("307 Temporary Redirect", {"Location": location, "Content-Length": "0"}))
        return True
    with RawServer(answer) as srv:
        _pull_fails(store, srv.host, match="network error")


def test_credentials_do_not_follow_a_redirect_to_another_host(store):
    with RawServer(lambda path, headers, conn: conn.sendall(_head("404 Not Found", {"Content-Length": "0"}))) as other:
        def answer(path, headers, conn):
            if path == "/v2/" and "authorization" not in headers:
                conn.sendall(_head("401 Unauthorized", {"WWW-Authenticate": 'Basic realm="r"',
                                                        "Content-Length": "0"}))
            elif path == "/v2/":
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            else:
                conn.sendall(_head("307 Temporary Redirect", {
                    "Location": f"http://{other.host}{path}", "Content-Length": "0"}))
            return True
        answer.answers_ping = True
        with RawServer(answer) as srv:
            with pytest.raises(SampanError):
                pull(store, f"{srv.host}/x/app:1", progress=False, auth=("alice", "s3cret"))
            here = [h for _, p, h in srv.requests if "/manifests/" in p]
        there = [h for _, p, h in other.requests if "/manifests/" in p]
    assert here and all(h.get("authorization", "").startswith("Basic ") for h in here)
    assert there and all("authorization" not in h for h in there)


def test_a_server_that_never_answers_times_out(store, monkeypatch):
    monkeypatch.setattr(transport, "READ_TIMEOUT", 0.3)

    def answer(path, headers, conn):
        time.sleep(2)
        return False
    with RawServer(answer) as srv:
        # without the read timeout the server's hang-up after 2 s would be the error instead
        _pull_fails(store, srv.host, match="while fetching the manifest: timed out")


def test_a_trickling_answer_is_cut_at_the_deadline(store, monkeypatch):
    monkeypatch.setattr(transport, "ANSWER_DEADLINE", 0.5)

    def answer(path, headers, conn):
        conn.sendall(_head("200 OK", {"Content-Type": "application/vnd.oci.image.manifest.v1+json",
                                      "Content-Length": "100000"}))
        try:
            for _ in range(200):            # 1 byte every 50 ms: each read is quick enough
                conn.sendall(b" ")
                time.sleep(0.05)
        except OSError:
            pass
        return False
    with RawServer(answer) as srv:
        _pull_fails(store, srv.host, match="not complete after 0.5 s")


@pytest.mark.parametrize("junk", [
    b"".join(b"X-Junk-%d: y\r\n" % i for i in range(500)),       # too many headers
    b"X-Long: " + b"y" * 100_000 + b"\r\n",                        # one header line too long
    b"no colon here at all\r\n\x00\x01\r\n",                        # not a header
])
def test_hostile_headers_are_refused(store, junk):
    def answer(path, headers, conn):
        conn.sendall(b"HTTP/1.1 200 OK\r\n" + junk + b"Content-Length: 2\r\n\r\n{}")
        return False
    with RawServer(answer) as srv:
        _pull_fails(store, srv.host, SampanError)


def test_a_connection_cut_mid_manifest_is_a_network_error(store):
    def answer(path, headers, conn):
        conn.sendall(_head("200 OK", {"Content-Type": "application/vnd.oci.image.manifest.v1+json",
                                      "Content-Length": "5000"}) + b'{"schemaVersion"')
        conn.shutdown(socket.SHUT_RDWR)
        return False
    with RawServer(answer) as srv:
        _pull_fails(store, srv.host, match="network error .* while fetching the manifest")


def test_a_bad_status_line_is_a_network_error(store):
    def answer(path, headers, conn):
        conn.sendall(b"SPDY/9 what\r\n\r\n")
        return False
    with RawServer(answer) as srv:
        _pull_fails(store, srv.host, match="network error")
