"""A small OCI distribution server in a thread, with knobs for hostile behaviour and auth.

Serves pull (manifests, blobs), push (HEAD, POST/PUT uploads, cross-repo mount, PUT
manifest), Basic or Bearer auth with its own /token endpoint, and records every request.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


class FakeRegistry:
    def __init__(self, auth: str | None = None, user: str = "alice", password: str = "s3cret"):
        self.auth = auth                      # None, "basic", "bearer"
        self.user, self.password = user, password
        self.manifests: dict[tuple[str, str], tuple[bytes, str]] = {}   # (repo, ref) -> (raw, type)
        self.blobs: dict[str, bytes] = {}      # digest -> bytes (one namespace: enough here)
        self.repo_blobs: dict[str, set[str]] = {}
        self.blob_override: dict[str, bytes] = {}      # serve these bytes instead
        self.length_override: dict[str, int] = {}      # declare this Content-Length
        self.manifest_digest_header: str | None = None
        self.status_override: list[list] = []   # [path regex, status, headers(, times left)]
        self.redirect: dict[str, str] = {}      # blob digest -> absolute URL (307)
        self.requests: list[tuple[str, str, str]] = []            # (method, path, auth scheme)
        self.token_requests: list[dict] = []
        self.uploads: dict[str, bytearray] = {}
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.host = f"127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> "FakeRegistry":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def add_image(self, repo: str, ref: str, img, media_type: str | None = None) -> None:
        mt = media_type or json.loads(img.manifest)["mediaType"]
        self.manifests[(repo, ref)] = (img.manifest, mt)
        self.manifests[(repo, img.digest)] = (img.manifest, mt)
        for d, b in img.blobs().items():
            self.blobs[d] = b
            self.repo_blobs.setdefault(repo, set()).add(d)

    def add_manifest(self, repo: str, ref: str, raw: bytes, media_type: str) -> None:
        self.manifests[(repo, ref)] = (raw, media_type)
        self.manifests[(repo, "sha256:" + hashlib.sha256(raw).hexdigest())] = (raw, media_type)

    def _authorized(self, header: str, repo: str | None, push: bool) -> bool:
        if not self.auth:
            return True
        if self.auth == "basic":
            expect = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
            return header == "Basic " + expect
        if not header.startswith("Bearer tok:"):
            return False
        scopes = header[len("Bearer tok:"):].split("|")
        if repo is None:
            return True
        need = "push" if push else "pull"
        return any(s.startswith(f"repository:{repo}:") and need in s.split(":")[-1].split(",")
                   for s in scopes)

    def _handler(self):
        reg = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *a):
                pass

            def _send(self, status, body=b"", headers=None, length=None):
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body) if length is None else length))
                self.end_headers()
                if self.command != "HEAD":
                    try:
                        self.wfile.write(body)
                    except (BrokenPipeError, ConnectionResetError):
                        pass

            def _body(self) -> bytes:
                n = int(self.headers.get("Content-Length") or 0)
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    out = bytearray()
                    while True:
                        size = int(self.rfile.readline().strip().split(b";")[0], 16)
                        if size == 0:
                            self.rfile.readline()
                            return bytes(out)
                        out += self.rfile.read(size)
                        self.rfile.readline()
                return self.rfile.read(n) if n else b""

            def _token(self, url):
                q = parse_qs(url.query)
                reg.token_requests.append(q)
                expect = base64.b64encode(f"{reg.user}:{reg.password}".encode()).decode()
                auth = self.headers.get("Authorization", "")
                if auth and auth != "Basic " + expect:
                    return self._send(401, b'{"details":"bad creds"}')
                scopes = q.get("scope", [])
                if not auth:   # anonymous: pull only
                    scopes = [s.replace(",push", "").replace("push,", "") for s in scopes
                              if not s.endswith(":push")]
                token = "tok:" + "|".join(scopes)
                return self._send(200, json.dumps({"token": token}).encode(),
                                  {"Content-Type": "application/json"})

            def _challenge(self, repo, push):
                if reg.auth == "basic":
                    hdr = 'Basic realm="fake"'
                else:
                    scope = f'repository:{repo}:{"pull,push" if push else "pull"}' if repo else ""
                    hdr = (f'Bearer realm="http://{reg.host}/token",service="fake"'
                           + (f',scope="{scope}"' if scope else ""))
                body = json.dumps({"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]}).encode()
                return self._send(401, body, {"WWW-Authenticate": hdr, "Content-Type": "application/json"})

            def _err(self, status, code, msg):
                return self._send(status, json.dumps({"errors": [{"code": code, "message": msg}]}).encode(),
                                  {"Content-Type": "application/json"})

            def handle_one(self):
                url = urlparse(self.path)
                path = url.path
                reg.requests.append((self.command, self.path,
                                     self.headers.get("Authorization", "").split(" ")[0]))
                if path == "/token":
                    return self._token(url)
                for rule in reg.status_override:
                    pattern, status, headers = rule[:3]
                    if re.search(pattern, path) and (len(rule) < 4 or rule[3] > 0):
                        if len(rule) == 4:
                            rule[3] -= 1
                        return self._send(status, b'{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}', headers)
                if path == "/v2/" or path == "/v2":
                    if not reg._authorized(self.headers.get("Authorization", ""), None, False):
                        return self._challenge(None, False)
                    return self._send(200, b"{}")
                m = re.match(r"^/v2/(.+)/(manifests|blobs)/(uploads/?.*|[^/]+)$", path)
                if not m:
                    return self._err(404, "NOT_FOUND", "no route")
                repo, kind, ref = m.groups()
                push = self.command in ("PUT", "POST", "PATCH")
                if not reg._authorized(self.headers.get("Authorization", ""), repo, push):
                    return self._challenge(repo, push)
                if kind == "manifests":
                    if self.command == "PUT":
                        raw = self._body()
                        reg.add_manifest(repo, ref, raw, self.headers.get("Content-Type", ""))
                        d = "sha256:" + hashlib.sha256(raw).hexdigest()
                        return self._send(201, b"", {"Docker-Content-Digest": d, "Location": f"/v2/{repo}/manifests/{d}"})
                    if (repo, ref) not in reg.manifests:
                        return self._err(404, "MANIFEST_UNKNOWN", "manifest unknown")
                    raw, mt = reg.manifests[(repo, ref)]
                    hdr = {"Content-Type": mt,
                           "Docker-Content-Digest": reg.manifest_digest_header or
                           "sha256:" + hashlib.sha256(raw).hexdigest()}
                    return self._send(200, raw, hdr)
                if ref.startswith("uploads"):
                    return self._upload(repo, ref, url)
                if ref in reg.redirect:
                    return self._send(307, b"", {"Location": reg.redirect[ref]})
                if ref not in reg.blobs or ref not in reg.repo_blobs.get(repo, set()):
                    return self._err(404, "BLOB_UNKNOWN", "blob unknown")
                body = reg.blob_override.get(ref, reg.blobs[ref])
                if ref in reg.length_override:
                    self.close_connection = True    # a short body, then hang up
                return self._send(200, body, {"Content-Type": "application/octet-stream",
                                              "Docker-Content-Digest": ref},
                                  length=reg.length_override.get(ref))

            def _upload(self, repo, ref, url):
                q = parse_qs(url.query)
                if self.command == "POST":
                    mount, src = q.get("mount", [None])[0], q.get("from", [None])[0]
                    if mount and src and mount in reg.repo_blobs.get(src, set()):
                        reg.repo_blobs.setdefault(repo, set()).add(mount)
                        return self._send(201, b"", {"Docker-Content-Digest": mount})
                    uid = uuid.uuid4().hex
                    reg.uploads[uid] = bytearray()
                    return self._send(202, b"", {"Location": f"/v2/{repo}/blobs/uploads/{uid}?_state=x",
                                                 "Docker-Upload-UUID": uid})
                uid = ref.split("/", 1)[1]
                if uid not in reg.uploads:
                    return self._err(404, "BLOB_UPLOAD_UNKNOWN", "upload unknown")
                reg.uploads[uid] += self._body()
                if self.command == "PUT":
                    data = bytes(reg.uploads.pop(uid))
                    d = q.get("digest", [""])[0]
                    if "sha256:" + hashlib.sha256(data).hexdigest() != d:
                        return self._err(400, "DIGEST_INVALID", "digest mismatch")
                    reg.blobs[d] = data
                    reg.repo_blobs.setdefault(repo, set()).add(d)
                    return self._send(201, b"", {"Docker-Content-Digest": d})
                return self._send(202, b"", {"Location": f"/v2/{repo}/blobs/uploads/{uid}"})

            do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = handle_one

        return H
