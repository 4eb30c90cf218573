"""Events, stats and pause/unpause through the Engine API, with the real docker CLIs and
docker-py."""

import json
import os
import socket
import threading
import time

import pytest

from tests.support.api import docker_clis, raw


def ok(r):
    assert r.rc == 0, r
    return r


def _json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize("cli", docker_clis())
def test_docker_events_since_until_and_filters(service, cli):
    t0 = time.time()
    name = "ev-" + os.path.basename(cli)
    ok(service.docker("create", "--name", name, "--label", "team=a", "busybox", "sh", "-c", "exit 3",
                   cli=cli))
    ok(service.docker("start", name, cli=cli))
    assert service.docker("wait", name, cli=cli).out.strip() == "3"
    ok(service.docker("rm", name, cli=cli))
    service.cli.ok("volume", "create", "ev-vol")
    t1 = time.time() + 0.5
    r = service.docker("events", "--since", f"{t0:.3f}", "--until", f"{t1:.3f}", "--format", "{{json .}}",
                       cli=cli, timeout=20)
    assert r.rc == 0, r.err
    evs = _json_lines(r.out)
    mine = [e for e in evs if e["Type"] == "container" and e["Actor"]["Attributes"].get("name") == name]
    assert [e["Action"] for e in mine] == ["create", "start", "die", "destroy"]
    die = mine[2]
    assert die["Actor"]["Attributes"]["exitCode"] == "3" and die["Actor"]["Attributes"]["team"] == "a"
    assert die["status"] == "die" and die["id"] == die["Actor"]["ID"] and die["from"] == "busybox"
    assert die["timeNano"] // 10**9 == die["time"] and t0 <= die["timeNano"] / 1e9 <= t1
    assert any(e["Type"] == "volume" and e["Action"] == "create" and e["Actor"]["ID"] == "ev-vol" for e in evs)
    # filters travel as Docker's map and are applied by the engine
    only = service.docker("events", "--since", f"{t0:.3f}", "--until", f"{t1:.3f}", "--filter", "event=die",
                          "--filter", f"container={name}", "--format", "{{.Action}} {{.Actor.Attributes.exitCode}}",
                          cli=cli, timeout=20)
    assert only.out.splitlines() == ["die 3"], only
    assert service.docker("events", "--since", f"{t0:.3f}", "--until", f"{t1:.3f}", "--filter", "type=volume",
                          "--format", "{{.Type}}", cli=cli, timeout=20).out.split() == ["volume"]


def test_events_streams_live_and_its_child_dies_when_the_client_leaves(service):
    svc_pid = service.proc.pid

    def children() -> set[int]:
        out = set()
        for task in os.listdir(f"/proc/{svc_pid}/task"):
            with open(f"/proc/{svc_pid}/task/{task}/children") as f:
                out |= {int(x) for x in f.read().split()}
        return out

    before = children()
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(15)
    s.connect(str(service.sock))
    s.sendall(b"GET /v1.41/events?filters=%7B%22type%22%3A%5B%22container%22%5D%7D HTTP/1.1\r\nHost: x\r\n\r\n")
    head = s.recv(4096)
    assert head.startswith(b"HTTP/1.1 200 "), head  # headers at once, before any event
    follower = children() - before
    assert len(follower) == 1
    service.cli.ok("create", "--name", "live", "busybox", "true")
    got = b""
    deadline = time.monotonic() + 10
    while b'"Action":"create"' not in got and time.monotonic() < deadline:
        got += s.recv(65536)
    assert b'"name":"live"' in got
    s.close()
    deadline = time.monotonic() + 5
    while follower & children() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not follower & children(), "the journal's follower outlived its client"


def test_events_bad_input_is_a_400(service):
    for q in (b"since=yesterday-ish", b"until=12:99", b"filters=%7Bnope", b"filters=%7B%22type%22%3A%5B%22bogus%22%5D%7D",
              b"filters=%7B%22colour%22%3A%5B%22red%22%5D%7D"):
        out = raw(service, b"GET /events?" + q + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        assert out.startswith(b"HTTP/1.1 400 "), (q, out[:200])
        assert b'"message"' in out


@pytest.mark.parametrize("cli", docker_clis())
def test_docker_stats_pause_unpause(service, cli):
    name = "st-" + os.path.basename(cli)
    ok(service.docker("run", "-d", "--name", name, "-m", "64m", "busybox", "sh", "-c",
                      "trap 'exit 7' TERM; while :; do sleep 0.1; done", cli=cli))
    r = service.docker("stats", "--no-stream", name, cli=cli, timeout=30)
    assert r.rc == 0, r.err
    head, line = r.out.splitlines()[:2]
    assert head.split()[:3] == ["CONTAINER", "ID", "NAME"] and name in line and "64MiB" in line
    fmt = service.docker("stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}}", name, cli=cli, timeout=30)
    assert fmt.out.split()[0] == name and fmt.out.split()[1] in ("1", "2"), fmt
    ok(service.docker("pause", name, cli=cli))
    assert service.docker("inspect", "-f", "{{.State.Status}} {{.State.Paused}} {{.State.Running}}", name,
                          cli=cli).out.strip() == "paused true true"
    assert "(Paused)" in service.docker("ps", cli=cli).out
    again = service.docker("pause", name, cli=cli)
    assert again.rc != 0 and "already paused" in again.err
    ok(service.docker("unpause", name, cli=cli))
    assert service.docker("inspect", "-f", "{{.State.Status}}", name, cli=cli).out.strip() == "running"
    nope = service.docker("unpause", name, cli=cli)
    assert nope.rc != 0 and "not paused" in nope.err
    ok(service.docker("pause", name, cli=cli))
    ok(service.docker("stop", "-t", "20", name, cli=cli))  # thawed, so its TERM trap runs
    assert service.docker("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", name,
                          cli=cli).out.strip() == "exited 7"
    ok(service.docker("start", name, cli=cli))
    ok(service.docker("pause", name, cli=cli))
    ok(service.docker("rm", "-f", name, cli=cli))
    assert service.docker("pause", "no-such-thing", cli=cli).rc != 0


def test_docker_py_stats_and_events_in_a_thread(service):
    client = service.client()
    got: list[dict] = []
    since = time.time()
    stream = client.events(decode=True, filters={"type": "container"}, since=int(since))

    def follow():
        for ev in stream:
            got.append(ev)
            if ev.get("Action") == "unpause":
                return

    t = threading.Thread(target=follow, daemon=True)
    t.start()
    c = client.containers.run("busybox", ["sleep", "300"], detach=True, name="py-st")
    s = c.stats(stream=False)
    assert s["id"] == c.id and s["name"] == "/py-st"
    assert s["cpu_stats"]["cpu_usage"]["total_usage"] > 0 and s["precpu_stats"]["cpu_usage"]["total_usage"] > 0
    assert s["cpu_stats"]["system_cpu_usage"] > s["precpu_stats"]["system_cpu_usage"]
    assert s["memory_stats"]["usage"] > 0 and s["memory_stats"]["limit"] > 0
    assert s["pids_stats"]["current"] == 1 and "eth0" in s["networks"]
    one = c.stats(stream=False, one_shot=True)
    assert one["precpu_stats"]["cpu_usage"]["total_usage"] == 0
    c.pause()
    c.reload()
    assert c.status == "paused"
    c.unpause()
    t.join(15)
    stream.close()
    assert [e["Action"] for e in got] == ["create", "start", "pause", "unpause"]
    c.remove(force=True)
    assert client.api.get(client.api._url("/containers/nope/stats"), params={"stream": 0}).status_code == 404
    gone = client.api.post(client.api._url("/containers/nope/pause"))
    assert gone.status_code == 404 and "nope" in gone.json()["message"]


def test_stats_stream_carries_each_sample_into_the_next(service):
    client = service.client()
    c = client.containers.run("busybox", ["sleep", "300"], detach=True, name="py-stream", network_mode="none")
    stream = c.stats(stream=True, decode=True)
    first, second = next(stream), next(stream)
    stream.close()
    assert first["precpu_stats"]["cpu_usage"]["total_usage"] == 0  # Docker's first sample has none
    assert second["precpu_stats"] == first["cpu_stats"] and second["preread"] == first["read"]
    assert "networks" not in second  # --network none: nothing but lo
    c.stop(timeout=0)
    stopped = c.stats(stream=False)
    assert stopped["read"].startswith("0001-01-01") and stopped["pids_stats"] == {}
    refused = client.api.post(client.api._url(f"/containers/{c.id}/pause"))
    assert refused.status_code == 409 and "not running" in refused.json()["message"]
    c.remove()
