"""`sampan build` end to end through the engine's own backend, checked from inside containers."""

import pytest

from tests.support.cli import Sampan


@pytest.fixture
def cli(state_dirs, busybox_tar, tmp_path):
    root, runroot = state_dirs
    s = Sampan(root, runroot)
    s.ok("import", "--change", 'CMD ["sh"]', str(busybox_tar), "busybox")
    s.ctx = tmp_path / "ctx"
    s.ctx.mkdir()
    yield s
    s.cleanup()
    from tests.integration.engine.conftest import _network_teardown

    _network_teardown(root, runroot)


def write(cli, files: dict[str, str]) -> None:
    for name, text in files.items():
        p = cli.ctx / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


def test_build_then_run(cli):
    write(cli, {"Dockerfile": (
        "FROM busybox\nARG GREETING=hello\n"
        'RUN echo "$GREETING from RUN" > /greeting\n'
        "COPY msg.txt /app/\nWORKDIR /app\n"
        "RUN <<EOF\nset -e\ncat msg.txt >> /greeting\nEOF\n"
        'USER www-data\nCMD ["cat", "/greeting"]\n'),
        "msg.txt": "copied message\n", ".dockerignore": "secret\n", "secret": "s"})
    r = cli("build", "--progress=plain", "--network=none", "--build-arg", "GREETING=hi",
            "-t", "e2e:1", str(cli.ctx))
    assert r.rc == 0, r.err
    assert "[2/5] RUN echo" in r.err and "naming to docker.io/library/e2e:1 done" in r.err
    assert cli.ok("run", "--rm", "--network=none", "e2e:1") == "hi from RUN\ncopied message\n"
    assert cli.ok("run", "--rm", "--network=none", "e2e:1", "sh", "-c", "id -un; pwd") == "www-data\n/app\n"


def test_quiet_cached_rebuild_prints_the_same_id(cli):
    write(cli, {"Dockerfile": "FROM busybox\nRUN echo x > /x\n"})
    first = cli.ok("build", "-q", "--network=none", "-t", "q:1", str(cli.ctx)).strip()
    assert first.startswith("sha256:")
    r = cli("build", "--progress=plain", "--network=none", "-t", "q:1", str(cli.ctx))
    assert "CACHED" in r.err and first in r.err


def test_failing_run_exits_1_and_moves_no_tag(cli):
    write(cli, {"Dockerfile": "FROM busybox\nRUN true\nRUN echo bad >&2; exit 5\n"})
    r = cli("build", "--progress=plain", "--network=none", "-t", "broken:1", str(cli.ctx))
    assert r.rc == 1
    assert "Dockerfile:3: RUN failed" in r.err and "exit code: 5" in r.err and "bad" in r.err
    assert "broken" not in cli.ok("images")


def test_dockerfile_from_stdin(cli):
    r = cli("build", "--network=none", "-q", "-t", "stdin:1", "-", input=b"FROM busybox\nRUN touch /made\n")
    assert r.rc == 0, r.err
    assert cli("run", "--rm", "--network=none", "stdin:1", "test", "-e", "/made").rc == 0


def test_run_steps_get_the_default_network(cli):
    write(cli, {"Dockerfile": "FROM busybox\nRUN ls /sys/class/net > /ifaces\n"})
    cli.ok("build", "-q", "-t", "net:1", str(cli.ctx))
    ifaces = cli.ok("run", "--rm", "--network=none", "net:1", "cat", "/ifaces").split()
    assert "lo" in ifaces and len(ifaces) >= 2  # a bridge veth besides loopback
