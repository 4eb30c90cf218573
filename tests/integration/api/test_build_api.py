"""POST /build (the classic builder) with real clients, and hostile contexts: nothing a
context tar holds may land outside the build's scratch directory."""

from __future__ import annotations

import io
import json
import os
import tarfile

import pytest

from tests.support.api import docker_clis, request

DOCKERFILE = """FROM busybox
ARG GREETING=hello
RUN echo "$GREETING from run" > /greeting
COPY data.txt /data.txt
CMD ["sh", "-c", "cat /greeting /data.txt"]
"""


def _context(tmp_path, dockerfile: str = DOCKERFILE):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(dockerfile)
    (ctx / "data.txt").write_text("data from copy\n")
    return ctx


@pytest.mark.parametrize("cli", docker_clis())
def test_docker_build_then_run(service, tmp_path, cli):
    ctx = _context(tmp_path)
    r = service.docker("build", "-t", "built/x:1", "--build-arg", "GREETING=hi", str(ctx), cli=cli, timeout=180)
    assert r.rc == 0, (r.out, r.err)
    assert "Successfully built" in r.out and "Successfully tagged built/x:1" in r.out, r.out
    assert "Step 2/3 : RUN echo" in r.out and "[internal]" not in r.out, r.out
    out = service.cli.ok("run", "--rm", "built/x:1")
    assert out.split("\n")[:2] == ["hi from run", "data from copy"], out
    r = service.docker("run", "-d", "--name", "built-x", "built/x:1", cli=cli)
    assert r.rc == 0, r.err
    assert service.cli.ok("wait", "built-x").strip() == "0"
    assert service.cli.ok("logs", "built-x").split("\n")[:2] == ["hi from run", "data from copy"]
    assert not list((service.root / "api-spool").iterdir())
    assert not list((service.runroot / "api-build").iterdir())


def test_docker_build_quiet_and_a_failing_step(service, tmp_path):
    ctx = _context(tmp_path)
    r = service.docker("build", "-q", "-t", "built/q", str(ctx), timeout=180)
    assert r.rc == 0 and r.out.strip().startswith("sha256:"), (r.out, r.err)
    (ctx / "Dockerfile").write_text("FROM busybox\nRUN exit 3\n")
    r = service.docker("build", str(ctx), timeout=180)
    assert r.rc != 0 and "3" in r.err, (r.out, r.err)


def test_docker_py_builds_with_labels_and_target(service, tmp_path):
    ctx = _context(tmp_path, "FROM busybox AS base\nRUN echo base > /b\n"
                             "FROM base AS final\nRUN echo final > /f\n")
    client = service.client()
    try:
        image, logs = client.images.build(path=str(ctx), tag="pybuilt:1", target="base",
                                          labels={"team": "a"}, rm=True)
        assert "pybuilt:1" in image.tags and image.labels.get("team") == "a"
        assert any("stream" in line for line in logs)
        out = service.cli.ok("run", "--rm", "pybuilt:1", "sh", "-c", "cat /b; ls /f 2>&1 || true")
        assert out.startswith("base") and "No such file" in out
    finally:
        client.close()


def _tar(members: list[tuple[tarfile.TarInfo, bytes]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for ti, data in members:
            ti.size = len(data) if ti.isreg() else 0
            t.addfile(ti, io.BytesIO(data) if ti.isreg() else None)
    return buf.getvalue()


def _file(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    return tarfile.TarInfo(name), data


def _link(name: str, target: str) -> tuple[tarfile.TarInfo, bytes]:
    ti = tarfile.TarInfo(name)
    ti.type, ti.linkname = tarfile.SYMTYPE, target
    return ti, b""


def test_hostile_context_tars_write_nothing_outside(service, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    dockerfile = b"FROM busybox\nCOPY . /ctx/\nCMD [\"true\"]\n"
    # a symlink pointing out and an absolute name: kept inside the context
    contained = _tar([_file("Dockerfile", dockerfile), _link("out", str(outside)),
                      _file(str(outside / "abs-planted"), b"x")])
    status, _, body = request(service, "POST", "/build?t=hostile:1", contained,
                        {"Content-Type": "application/x-tar"}, timeout=120)
    assert status == 200 and b"errorDetail" not in body, body
    assert list(outside.iterdir()) == []
    out = service.cli.ok("run", "--rm", "hostile:1", "find", "/ctx", "-name", "abs-planted")
    assert out.strip() == f"/ctx{outside}/abs-planted"
    # members written through a symlink that points out: refused when it points at nothing
    # inside the context, re-rooted into the context when it climbs
    for link, refused in ((str(outside), True), ("../../../../../../..", False)):
        through = _tar([_file("Dockerfile", dockerfile), _link("out", link),
                        _file("out/planted", b"x"), _file(f"out{outside}/planted", b"x")])
        status, _, body = request(service, "POST", "/build", through, {"Content-Type": "application/x-tar"},
                            timeout=120)
        if refused:
            assert status == 400 and "symlink" in json.loads(body)["message"], body
        else:
            assert status == 200 and b"errorDetail" not in body, body
        assert list(outside.iterdir()) == []
    # climbing with ../ is refused outright
    climbing = _tar([_file("Dockerfile", dockerfile), _file(f"../../../..{outside}/climbed", b"x")])
    status, _, body = request(service, "POST", "/build", climbing, {"Content-Type": "application/x-tar"})
    assert status == 400 and "climbed" in json.loads(body)["message"], body
    assert list(outside.iterdir()) == []
    assert not list((service.runroot / "api-build").iterdir())


def test_bad_build_requests_get_one_clear_400(service, tmp_path):
    ok = _tar([_file("Dockerfile", b"FROM busybox\n")])
    cases = [("/build", b"this is not a tar" * 50, "not a tar archive"),
             ("/build?dockerfile=../../etc/passwd", ok, "outside the build context"),
             ("/build?dockerfile=/etc/passwd", ok, "Cannot locate specified Dockerfile: etc/passwd"),
             ("/build?dockerfile=nope", ok, "Cannot locate specified Dockerfile"),
             ("/build?buildargs=%5B1%5D", ok, "buildargs"),
             ("/build?remote=https://example.com/ctx.tar", b"", "remote"),
             ("/build?remote=ext::sh%20-c%20id", b"", "unsupported git URL"),
             ("/build?cachefrom=%7B%7D", ok, "cachefrom")]
    for path, body, words in cases:
        status, _, answer = request(service, "POST", path, body, {"Content-Type": "application/x-tar"})
        assert status == 400, (path, status, answer)
        message = json.loads(answer)["message"]
        assert words in message and "\n" not in message, (path, message)
    # a Dockerfile that is a symlink out of the context is not followed out
    secret = tmp_path / "secret"
    secret.write_text("FROM busybox\nRUN echo leaked\n")
    link = _tar([_link("Dockerfile", str(secret))])
    status, _, answer = request(service, "POST", "/build", link, {"Content-Type": "application/x-tar"})
    assert status == 400 and b"leaked" not in answer, answer
    assert not list((service.root / "api-spool").iterdir())
    assert os.path.exists(secret)


def test_a_client_hanging_up_mid_build_leaves_nothing_behind(service, tmp_path):
    import socket
    import time
    slow = _tar([_file("Dockerfile", b"FROM busybox\nRUN sleep 37\n")])
    head = (f"POST /build HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-tar\r\n"
            f"Content-Length: {len(slow)}\r\n\r\n").encode()
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(30)
        s.connect(str(service.sock))
        s.sendall(head + slow)
        assert s.recv(4096).startswith(b"HTTP/1.1 200")  # the build is under way
        time.sleep(1)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and "sleep 37" in _processes():
        time.sleep(0.2)
    assert "sleep 37" not in _processes()
    # the next build sweeps the killed one's context; nothing of either stays
    r = service.docker("build", "-q", str(_context(tmp_path)), timeout=180)
    assert r.rc == 0, r.err
    assert not list((service.runroot / "api-build").iterdir())
    assert not list((service.root / "api-spool").iterdir())


def _processes() -> str:
    import subprocess
    return subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout


def test_docker_compose_builds_its_service_image(service, tmp_path):
    import subprocess
    ctx = _context(tmp_path)
    (ctx / "docker-compose.yml").write_text(
        "version: '3'\nservices:\n  app:\n    build:\n      context: .\n      args:\n"
        "        GREETING: compose\n    image: composed/app:1\n")
    p = subprocess.run(["/usr/bin/docker-compose", "-p", "apibuild", "build"], cwd=ctx, env=service.env(),
                       capture_output=True, text=True, timeout=180)
    assert p.returncode == 0, (p.stdout, p.stderr)
    out = service.cli.ok("run", "--rm", "composed/app:1")
    assert out.startswith("compose from run"), out


def test_remote_git_context_and_cachefrom(service, tmp_path):
    """docker-py's `remote` (a git URL: file:// here, no network) and the docker CLI's
    --cache-from (`cachefrom`), which the classic builder sends."""
    import subprocess
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "Dockerfile").write_text("FROM busybox\nRUN head -c 8 /dev/urandom | md5sum > /r\n")
    for args in (["init", "-q", "."], ["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@t",
                                                     "commit", "-qm", "x"]):
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)
    from urllib.parse import quote
    status, _, body = request(service, "POST", f"/build?t=remote/x:1&remote={quote(f'file://{repo}')}", b"",
                              {"Content-Type": "application/x-tar"})
    assert status == 200 and b"Successfully tagged remote/x:1" in body, body
    assert service.cli.ok("run", "--rm", "remote/x:1", "cat", "/r")
    service.cli.ok("builder", "prune", "-f")
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text((repo / "Dockerfile").read_text())
    r = service.docker("build", "--cache-from", "remote/x:1", "-t", "remote/x:2", str(ctx), timeout=180)
    assert r.rc == 0, r.err
    assert service.cli.ok("images", "-q", "--no-trunc", "remote/x:2") == \
        service.cli.ok("images", "-q", "--no-trunc", "remote/x:1")


@pytest.mark.parametrize("cli", docker_clis())
def test_docker_cli_tar_on_stdin_and_iidfile(service, tmp_path, cli):
    """What the classic builder's CLI does itself (sends the stdin tar as the body, writes
    --iidfile from the aux ID) works against the service."""
    data = _tar([_file("Dockerfile", b"FROM busybox\nCOPY msg /msg\n"), _file("msg", b"from a tar\n")])
    iid = tmp_path / "iid"
    r = service.docker("build", "--iidfile", str(iid), "-t", "stdin/x:1", "-", cli=cli, input=data,
                       timeout=180)
    assert r.rc == 0, (r.out, r.err)
    assert iid.read_text().startswith("sha256:")
    assert service.cli.ok("run", "--rm", "stdin/x:1", "cat", "/msg") == "from a tar\n"
    assert iid.read_text() == service.cli.ok("images", "-q", "--no-trunc", "stdin/x:1").strip()


def test_run_mounts_through_the_classic_api_and_builder_prune(service, tmp_path):
    """The service parses the Dockerfile itself, so RUN --mount (cache, bind, tmpfs) works
    for the classic builder's clients too; `docker builder prune` removes the cache dirs."""
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "data").write_text("bound\n")
    (ctx / "Dockerfile").write_text(
        "FROM busybox\nRUN --mount=type=cache,target=/c --mount=source=data,target=/d "
        "cat /d >> /c/log && cp /c/log /log\n")
    r = service.docker("build", "-t", "mnt/x:1", str(ctx), timeout=180)
    assert r.rc == 0, (r.out, r.err)
    assert service.cli.ok("run", "--rm", "mnt/x:1", "cat", "/log") == "bound\n"
    assert list((service.root / "buildcache").iterdir())
    r = service.docker("builder", "prune", "-f")
    assert r.rc == 0, r.err
    assert not list((service.root / "buildcache").iterdir())
