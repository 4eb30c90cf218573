"""`sampan compose ARGS...`: run a compose program against sampan's API socket.

As `podman compose`: sampan has no compose of its own; it runs Debian's
`docker-compose` (or the docker CLI's `compose` plugin) with DOCKER_HOST set to
the service's socket, and starts `sampan system service` in the background when
nothing listens there. That service exits by itself once idle (SERVICE_IDLE).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time

from sampan.errors import SampanError

SERVICE_IDLE = 10       # seconds the background service stays without a client
START_TIMEOUT = 30      # seconds to wait for it to listen
PLUGIN_DIRS = ("/usr/local/lib/docker/cli-plugins", "/usr/local/libexec/docker/cli-plugins",
               "/usr/lib/docker/cli-plugins", "/usr/libexec/docker/cli-plugins")


def compose_program() -> list[str] | None:
    """`docker-compose` on PATH, else `docker compose` when the docker CLI has the plugin."""
    standalone = shutil.which("docker-compose")
    if standalone:
        return [standalone]
    docker = shutil.which("docker")
    if docker:
        dirs = [os.path.join(os.environ.get("DOCKER_CONFIG") or os.path.expanduser("~/.docker"), "cli-plugins")]
        for d in dirs + list(PLUGIN_DIRS):
            if os.access(os.path.join(d, "docker-compose"), os.X_OK):
                return [docker, "compose"]
    return None


def _listening(path: str) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        try:
            s.connect(path)
        except OSError:
            return False
    return True


def _global_args(g) -> list[str]:
    out = []
    for name in ("root", "runroot", "runtime"):
        value = getattr(g, name)
        if value:
            out += [f"--{name}", value]
    return out


def ensure_service(g, path: str) -> None:
    """Start `sampan system service` on `path` unless something listens there already."""
    if _listening(path):
        return
    os.makedirs(os.path.dirname(path), mode=0o711, exist_ok=True)
    log_path = os.path.join(os.path.dirname(path), "compose-service.log")
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sampan", *_global_args(g), "system", "service", "--time", str(SERVICE_IDLE),
             f"unix://{path}"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
            env=dict(os.environ, SAMPAN_NO_ZYGOTE="1"))
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if _listening(path):
            return
        if proc.poll() is not None:
            raise SampanError(f"the API service did not start (exit {proc.returncode}); see {log_path}")
        time.sleep(0.05)
    raise SampanError(f"the API service did not listen on {path} within {START_TIMEOUT} s; see {log_path}")


def main(command: str, argv: list[str], g) -> int:
    program = compose_program()
    if program is None:
        raise SampanError("no compose program found: install Debian's docker-compose package "
                          "(apt-get install docker-compose)")
    g.engine()  # root and a usable state, checked as for every command
    from sampan.state.paths import Paths
    path = str(Paths.from_env(g.root, g.runroot).runroot / "sampan.sock")   # the service's default
    ensure_service(g, path)
    env = dict(os.environ, DOCKER_HOST=f"unix://{path}")
    env.setdefault("DOCKER_BUILDKIT", "0")   # the service builds with the classic POST /build
    env.setdefault("COMPOSE_DOCKER_CLI_BUILD", "0")
    proc = subprocess.Popen(program + argv, env=env)
    forward = lambda signum, _frame: proc.send_signal(signum)  # noqa: E731
    old = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        return proc.wait()
    finally:
        for s, h in old.items():
            signal.signal(s, h)
