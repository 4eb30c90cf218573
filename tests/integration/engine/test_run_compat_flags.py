"""run/create flags of issue 11 (the rest of `docker run --help`): -a, --sig-proxy, -q,
--annotation, --disable-content-trust, and the flags that have one meaning here (--userns,
--isolation, --volume-driver) or none (--gpus, --storage-opt, Docker's Windows-only ones),
each against a real container with Docker's words and exit codes; --use-api-socket with and
without the service's socket."""

import json
import os
import signal
import socket
import subprocess

import pytest


NONE = ["--network", "none"]
BOTH = "echo out; echo err >&2"


def inspect(sampan, name) -> dict:
    return json.loads(sampan.ok("inspect", name))[0]


@pytest.mark.parametrize("flags, out, err", [
    ([], "out\n", "err\n"),
    (["-a", "stderr"], "", "err\n"),
    (["-a", "STDOUT"], "out\n", ""),
    (["-a", "stdout", "--attach", "stderr"], "out\n", "err\n"),
])
def test_attach_shows_only_the_named_streams(sampan, flags, out, err):
    r = sampan("run", "--name", "at", *NONE, *flags, "busybox", "sh", "-c", BOTH)
    assert (r.rc, r.out, r.err) == (0, out, err)
    # what is not shown still went to the log
    logs = sampan("logs", "at")
    assert (logs.out, logs.err) == ("out\n", "err\n")


def test_attach_stdin_with_interactive(sampan):
    r = sampan("run", "--rm", *NONE, "-i", "-a", "stdin", "-a", "stdout", "busybox", "cat", input=b"hello\n")
    assert (r.rc, r.out) == (0, "hello\n")


@pytest.mark.parametrize("value", ["stdio", "busybox", ""])
def test_attach_bad_stream_is_docker_error(sampan, value):
    r = sampan("run", "--rm", "-a", value, "busybox", "true")
    assert r.rc == 125
    assert r.err.splitlines()[0] == (f'sampan: invalid argument "{value}" for "-a, --attach" flag: '
                                     f"valid streams are STDIN, STDOUT and STDERR")
    assert sampan.ok("ps", "-aq") == ""


def test_attach_and_detach_conflict(sampan):
    r = sampan("run", "-d", "-a", "stdout", "busybox", "true")
    assert (r.rc, r.err) == (125, "sampan: conflicting options: cannot specify both --attach and --detach\n")
    assert sampan.ok("ps", "-aq") == ""


def _run_then_signal(sampan, *flags):
    """`run` a container trapping SIGUSR1, send SIGUSR1 to the CLI: (its exit code, its stdout)."""
    script = "trap 'echo got; exit 7' USR1; echo ready; while :; do sleep 0.1; done"
    p = subprocess.Popen(sampan.argv("run", "--name", "sp", *NONE, *flags, "busybox", "sh", "-c", script),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                         env=sampan.env())
    try:
        assert p.stdout.readline() == b"ready\n"
        p.send_signal(signal.SIGUSR1)
        if "--sig-proxy=false" in flags:
            # not proxied: the CLI takes SIGUSR1's default action and the container runs on
            p.wait(timeout=30)
            return p.returncode, inspect(sampan, "sp")["State"]["Running"]
        out, _ = p.communicate(timeout=30)
        return p.returncode, out
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_sig_proxy_default_forwards_signals(sampan):
    assert _run_then_signal(sampan) == (7, b"got\n")


def test_sig_proxy_false_does_not(sampan):
    rc, running = _run_then_signal(sampan, "--sig-proxy=false")
    assert rc == -signal.SIGUSR1 and running is True
    sampan.ok("rm", "-f", "sp")


def test_sig_proxy_forms_parse(sampan):
    for flag in ("--sig-proxy", "--sig-proxy=true"):
        assert sampan.ok("run", "--rm", *NONE, flag, "busybox", "echo", "x") == "x\n"
    r = sampan("create", "--sig-proxy=false", "busybox")  # run only, as Docker
    assert r.rc == 125 and "unknown flag: --sig-proxy" in r.err


def test_annotations_in_inspect_and_runtime_spec(sampan):
    sampan.ok("create", "--name", "an", *NONE, "--annotation", "com.example.a=1",
              "--annotation", "org.x=", "busybox", "true")
    info = inspect(sampan, "an")
    assert info["HostConfig"]["Annotations"] == {"com.example.a": "1", "org.x": ""}
    sampan.ok("start", "an")
    spec = json.loads((sampan.root / "containers" / info["Id"] / "config.json").read_text())
    assert spec["annotations"]["com.example.a"] == "1" and spec["annotations"]["org.x"] == ""
    assert spec["annotations"]["io.sampan.name"] == "an"
    assert inspect(sampan, "an")["State"]["ExitCode"] == 0
    sampan.ok("create", "--name", "plain", "busybox")
    assert inspect(sampan, "plain")["HostConfig"]["Annotations"] is None


@pytest.mark.parametrize("value, words", [
    ("=x", "expected KEY=VALUE"),
    ("io.sampan.name=evil", "io.sampan. prefix is sampan's own"),
])
def test_annotation_hostile_keys(sampan, value, words):
    r = sampan("run", "--rm", "--annotation", value, "busybox", "true")
    assert r.rc == 125 and words in r.err and r.err.count("\n") == 1, r.err


def test_disable_content_trust_accepted(sampan):
    for flag in ("--disable-content-trust", "--disable-content-trust=false", "--disable-content-trust=true"):
        assert sampan.ok("run", "--rm", *NONE, flag, "busybox", "echo", "ok") == "ok\n"
    assert "sampan does no content trust" in " ".join(sampan.ok("run", "--help").split())


def test_quiet_accepted_and_local_image_unchanged(sampan):
    r = sampan("run", "--rm", *NONE, "-q", "busybox", "echo", "q")
    assert (r.rc, r.out, r.err) == (0, "q\n", "")


def test_userns_host_is_what_sampan_does(sampan):
    sampan.ok("run", "--name", "un", *NONE, "--userns", "host", "busybox", "true")
    assert inspect(sampan, "un")["HostConfig"]["UsernsMode"] == "host"
    # the container's uid 0 is the host's: no user namespace
    out = sampan.ok("run", "--rm", *NONE, "--userns=", "busybox", "cat", "/proc/self/uid_map")
    assert out.split() == ["0", "0", "4294967295"]


@pytest.mark.parametrize("flags, line", [
    (["--userns", "private"], "--userns: invalid USER mode: only host (no user namespace remapping: "
                              "sampan has none)"),
    (["--isolation", "hyperv"], "invalid isolation (hyperv): linux only supports 'default'"),
    (["--gpus", "all"], 'could not select device driver "" with capabilities: [[gpu]]: sampan has no GPU support'),
    (["--volume-driver", "nfs"], 'error looking up volume plugin nfs: plugin "nfs" not found '
                                 "(sampan has only the local volume driver)"),
    (["--storage-opt", "size"], "invalid storage option"),
    (["--cpu-count", "2"], '"--cpu-count" is only supported on a Docker daemon running on windows, '
                           "but sampan runs on linux"),
    (["--cpu-percent", "0"], '"--cpu-percent" is only supported on a Docker daemon running on windows, '
                             "but sampan runs on linux"),
    (["--io-maxbandwidth", "1m"], '"--io-maxbandwidth" is only supported on a Docker daemon running on '
                                  "windows, but sampan runs on linux"),
    (["--io-maxiops", "10"], '"--io-maxiops" is only supported on a Docker daemon running on windows, '
                             "but sampan runs on linux"),
])
@pytest.mark.parametrize("verb", ["run", "create"])
def test_flags_without_meaning_refused(sampan, verb, flags, line):
    r = sampan(verb, *NONE, *flags, "busybox", "true")
    assert (r.rc, r.err) == (125, f"sampan: {line}\n")
    assert sampan.ok("ps", "-aq") == ""


def test_storage_opt_size_is_dockers_overlay_error(sampan):
    r = sampan("run", "--rm", "--storage-opt", "size=10G", "busybox", "true")
    assert r.rc == 125 and r.err.count("\n") == 1
    # this machine's state roots are not on xfs: Docker's overlay2 words
    assert r.err == "sampan: --storage-opt is supported only for overlay over xfs with 'pquota' mount option\n"


def test_isolation_default_and_local_volume_driver(sampan):
    sampan.ok("create", "--name", "iso", "--isolation", "default", "--volume-driver", "local",
              "-v", "/data", "busybox")
    hc = inspect(sampan, "iso")["HostConfig"]
    assert (hc["Isolation"], hc["VolumeDriver"]) == ("default", "local")


def test_use_api_socket_without_service(sampan):
    r = sampan("run", "--rm", "--use-api-socket", "busybox", "true")
    sock = sampan.runroot / "sampan.sock"
    assert r.rc == 125
    assert r.err == (f"sampan: --use-api-socket: no API socket at {sock}: start `sampan system service` "
                     f"(it listens there) first\n")


def test_use_api_socket_not_a_socket(sampan):
    """A plain file (or a symlink to one) where the socket should be is not bound."""
    sampan.runroot.mkdir(parents=True, exist_ok=True)
    (sampan.runroot / "sampan.sock").write_text("not a socket")
    r = sampan("run", "--rm", "--use-api-socket", "busybox", "true")
    assert r.rc == 125 and "no API socket at" in r.err


def test_use_api_socket_binds_the_service_socket(sampan):
    sampan.runroot.mkdir(parents=True, exist_ok=True)
    path = str(sampan.runroot / "sampan.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        srv.bind(path)
        srv.listen(1)
        out = sampan.ok("run", "--name", "api", *NONE, "--use-api-socket", "busybox", "sh", "-c",
                        "test -S /var/run/docker.sock && echo socket")
        assert out == "socket\n"
        mounts = inspect(sampan, "api")["HostConfig"]["Mounts"]
        assert {"Type": "bind", "Source": path, "Target": "/var/run/docker.sock"}.items() <= mounts[0].items()
    finally:
        srv.close()
        os.unlink(path)


def test_attach_fields_in_inspect(sampan):
    def attached(name):
        c = inspect(sampan, name)["Config"]
        return [c["AttachStdin"], c["AttachStdout"], c["AttachStderr"]]
    sampan.ok("run", "--name", "r1", *NONE, "-a", "stderr", "busybox", "true")
    sampan.ok("run", "-d", "--name", "r2", *NONE, "busybox", "true")
    sampan.ok("create", "--name", "r3", "-i", "busybox")
    sampan.ok("create", "--name", "r4", "busybox")
    assert [attached(n) for n in ("r1", "r2", "r3", "r4")] == [
        [False, False, True], [False, False, False], [True, True, True], [False, True, True]]
