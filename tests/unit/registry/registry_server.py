"""Run Debian's docker-registry (distribution 2.8) on 127.0.0.1:<free port> for tests."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.support.net import free_port

BINARY = "/usr/bin/docker-registry"
_ACCESS_LINE = re.compile(r'"([A-Z]+) (\S+) HTTP/[0-9.]+" (\d{3}) ')   # its combined access log


class RegistryServer:
    def __init__(self, workdir: Path, users: dict[str, str] | None = None, tls: bool = False,
                 extra_config: list[str] | None = None):
        self.workdir = Path(workdir)
        self.extra_config = extra_config or []
        self.users = users
        self.tls = tls
        self.cert: Path | None = None
        self.proc: subprocess.Popen | None = None
        self.port = 0

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _config(self) -> Path:
        storage = self.workdir / "storage"
        storage.mkdir(parents=True, exist_ok=True)
        lines = ["version: 0.1", "log:", "  level: warn", "storage:", "  filesystem:",
                 f"    rootdirectory: {storage}", "  delete:", "    enabled: true",
                 "http:", f"  addr: 127.0.0.1:{self.port}"]
        if self.tls:
            self.cert, key = self.workdir / "cert.pem", self.workdir / "key.pem"
            if not self.cert.exists():
                subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                                "-days", "2", "-subj", "/CN=127.0.0.1", "-keyout", str(key),
                                "-out", str(self.cert), "-addext", "subjectAltName=IP:127.0.0.1"],
                               check=True, capture_output=True)
            lines += ["  tls:", f"    certificate: {self.cert}", f"    key: {key}"]
        if self.users:
            import bcrypt
            htpasswd = self.workdir / "htpasswd"
            htpasswd.write_text("".join(
                f"{u}:{bcrypt.hashpw(p.encode(), bcrypt.gensalt(rounds=5)).decode()}\n"
                for u, p in self.users.items()))
            lines += ["auth:", "  htpasswd:", "    realm: sampan-test", f"    path: {htpasswd}"]
        lines += self.extra_config
        cfg = self.workdir / "config.yml"
        cfg.write_text("\n".join(lines) + "\n")
        return cfg

    def start(self) -> "RegistryServer":
        for _ in range(5):   # a free port can be taken between probe and bind: retry
            self.port = free_port()
            cfg = self._config()
            log = open(self.workdir / "registry.log", "wb")
            self.proc = subprocess.Popen([BINARY, "serve", str(cfg)], stdout=log,
                                         stderr=subprocess.STDOUT)
            log.close()
            if self._wait_ready():
                return self
            self.stop()
        raise RuntimeError(f"docker-registry did not start: {(self.workdir / 'registry.log').read_text()[-2000:]}")

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                if self.tls:
                    import ssl
                    ctx = ssl.create_default_context(cafile=str(self.cert))
                    urllib.request.urlopen(f"https://{self.host}/v2/", timeout=1, context=ctx)
                else:
                    urllib.request.urlopen(f"http://{self.host}/v2/", timeout=1)
                return True
            except urllib.error.HTTPError:
                return True        # 401 with auth: it is up
            except OSError:
                time.sleep(0.05)
        return False

    def requests(self) -> list[tuple[str, str, int]]:
        """(method, path, status) of every request so far, from the registry's access log.
        Each call first sends a marker request and waits for its line, so the lines of the
        requests made before the call are all written."""
        marker = f"/v2/?mark={time.monotonic_ns()}"
        try:
            urllib.request.urlopen(f"{'https' if self.tls else 'http'}://{self.host}{marker}", timeout=5,
                                   context=self._ssl_context())
        except urllib.error.HTTPError:
            pass
        log = self.workdir / "registry.log"
        deadline = time.monotonic() + 10
        while marker not in log.read_text(errors="replace") and time.monotonic() < deadline:
            time.sleep(0.02)
        out = []
        for m in _ACCESS_LINE.finditer(log.read_text(errors="replace")):
            if "?mark=" not in m.group(2):
                out.append((m.group(1), m.group(2), int(m.group(3))))
        return out

    def _ssl_context(self):
        if not self.tls:
            return None
        import ssl
        return ssl.create_default_context(cafile=str(self.cert))

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def wipe(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)
