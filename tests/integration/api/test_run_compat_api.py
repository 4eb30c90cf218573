"""The run flags of engine/create_compat.py through the docker CLIs against the service:
-a, --annotation, --userns host, and Docker's daemon errors for --isolation, --gpus and
--volume-driver; --use-api-socket lets a docker CLI inside a container drive the engine."""

import json

import pytest

from tests.support.api import Service, docker_clis

CLIS = docker_clis()
NONE = ["--network", "none"]
NEW_CLI = "/usr/local/bin/docker"


@pytest.mark.parametrize("cli", CLIS)
def test_attach_annotation_userns(service, cli):
    r = service.docker("run", "--name", "a1", *NONE, "-a", "stderr", "--userns", "host", "busybox", "sh",
                       "-c", "echo out; echo err >&2", cli=cli)
    assert (r.rc, r.out, r.err) == (0, "", "err\n")
    info = json.loads(service.docker("inspect", "a1", cli=cli).out)[0]
    assert info["HostConfig"]["UsernsMode"] == "host"
    assert [info["Config"][f"Attach{s}"] for s in ("Stdin", "Stdout", "Stderr")] == [False, False, True]
    if cli == NEW_CLI:  # --annotation: API 1.43, docker CLI 24+
        r = service.docker("create", "--name", "a2", "--annotation", "com.example.k=v", "busybox", cli=cli)
        assert r.rc == 0, r.err
        hc = json.loads(service.docker("inspect", "a2", cli=cli).out)[0]["HostConfig"]
        assert hc["Annotations"] == {"com.example.k": "v"}


@pytest.mark.parametrize("cli", CLIS)
@pytest.mark.parametrize("flags, words", [
    (["--isolation", "hyperv"], "invalid isolation (hyperv): linux only supports 'default'"),
    (["--gpus", "all"], "sampan has no GPU support"),
    (["--volume-driver", "nfs"], 'plugin "nfs" not found'),
])
def test_daemon_side_refusals(service, cli, flags, words):
    r = service.docker("run", "--rm", *NONE, *flags, "busybox", "true", cli=cli)
    assert r.rc == 125 and words in r.err, r.err
    assert service.cli.ok("ps", "-aq") == ""


@pytest.mark.skipif(NEW_CLI not in CLIS, reason="needs the static docker CLI 28")
def test_use_api_socket_drives_the_engine_from_inside(sampan):
    """The service on its default socket (RUNROOT/sampan.sock); a container run with
    --use-api-socket and the static docker CLI bound in lists itself through it."""
    svc = Service(sampan.root, sampan.runroot)
    svc.sock = sampan.runroot / "sampan.sock"
    svc.host = f"unix://{svc.sock}"
    svc.start()
    try:
        out = sampan.ok("run", "--name", "inner", *NONE, "--use-api-socket", "-e", "HOME=/tmp",
                        "-v", f"{NEW_CLI}:/usr/bin/docker:ro", "busybox",
                        "docker", "ps", "--format", "{{.Names}}")
        assert out == "inner\n"
    finally:
        log = svc.stop()
    assert "Traceback" not in log
