"""`sampan events`: the journal the engine writes where things happen, read back with
--since/--until, filters and formats, and followed live."""

import json
import subprocess
import time


def _events(sampan, since: float, *args: str) -> list[dict]:
    out = sampan.ok("events", "--since", f"{since:.3f}", "--until", f"{time.time() + 0.2:.3f}",
                    "--format", "json", *args)
    return [json.loads(line) for line in out.splitlines()]


def test_container_life_is_journaled_with_docker_fields(sampan):
    t0 = time.time()
    assert sampan("run", "--rm", "--name", "short", "--label", "tier=x", "busybox", "sh", "-c", "exit 5").rc == 5
    evs = [e for e in _events(sampan, t0) if e["Type"] == "container"]
    assert [e["Action"] for e in evs] == ["create", "start", "die", "destroy"]
    cid = evs[0]["Actor"]["ID"]
    assert len(cid) == 64 and all(e["Actor"]["ID"] == cid for e in evs)
    die = evs[2]
    assert die["Actor"]["Attributes"] == {"exitCode": "5", "image": "busybox", "name": "short", "tier": "x"}
    assert die["status"] == "die" and die["id"] == cid and die["from"] == "busybox" and die["scope"] == "local"
    assert evs[0]["timeNano"] <= evs[1]["timeNano"] <= die["timeNano"] <= evs[3]["timeNano"]
    # the default line, as Docker prints it
    line = sampan.ok("events", "--since", f"{t0:.3f}", "--until", f"{time.time():.3f}",
                     "--filter", "event=die").strip()
    stamp, typ, action, actor, rest = line.split(" ", 4)
    assert (typ, action, actor) == ("container", "die", cid) and stamp[:4].isdigit() and len(stamp.split(".")[1]) >= 9
    assert rest == "(exitCode=5, image=busybox, name=short, tier=x)"


def test_stop_kill_restart_and_objects(sampan):
    t0 = time.time()
    sampan.ok("run", "-d", "--network", "none", "--name", "svc", "busybox", "sleep", "100")
    sampan.ok("restart", "-t", "0", "svc")  # sleep as PID 1 ignores SIGTERM: killed at once
    sampan.ok("kill", "svc")
    sampan.ok("rm", "svc")
    sampan.ok("tag", "busybox", "bb:ev")
    sampan.ok("rmi", "bb:ev")
    sampan.ok("volume", "create", "evvol")
    sampan.ok("run", "--rm", "--network", "none", "-v", "evvol:/data:ro", "busybox", "true")
    sampan.ok("volume", "rm", "evvol")
    sampan.ok("network", "create", "evnet")
    sampan.ok("network", "rm", "evnet")
    evs = _events(sampan, t0)
    seen = [(e["Type"], e["Action"]) for e in evs]
    container = [a for t, a in seen if t == "container"][:11]  # then the volume user's
    assert container[:6] == ["create", "start", "kill", "kill", "die", "stop"]
    assert sorted(container[6:8]) == ["restart", "start"]  # the monitor writes start meanwhile
    assert container[8:] == ["kill", "die", "destroy"]
    kills = [e["Actor"]["Attributes"]["signal"] for e in evs if e["Action"] == "kill"]
    assert kills == ["15", "9", "9"]
    assert [a for t, a in seen if t != "container"] == ["tag", "untag", "create", "mount", "destroy", "create",
                                                        "destroy"]
    mount = next(e for e in evs if e["Action"] == "mount")
    assert mount["Actor"]["ID"] == "evvol" and mount["Actor"]["Attributes"]["destination"] == "/data"
    assert mount["Actor"]["Attributes"]["read/write"] == "false" and len(mount["Actor"]["Attributes"]["container"]) == 64
    tag = next(e for e in evs if e["Action"] == "tag")
    assert tag["Actor"]["ID"].startswith("sha256:") and tag["Actor"]["Attributes"]["name"] == "bb:ev"
    # filters: type, image, volume, network, label; bad ones are errors
    assert {e["Type"] for e in _events(sampan, t0, "--filter", "type=volume")} == {"volume"}
    assert [e["Action"] for e in _events(sampan, t0, "--filter", "network=evnet")] == ["create", "destroy"]
    assert len(_events(sampan, t0, "--filter", "image=busybox", "--filter", "event=die")) == 3
    assert _events(sampan, t0, "--filter", "container=nope") == []
    r = sampan("events", "--filter", "colour=red")
    assert r.rc != 0 and "colour" in r.err
    r = sampan("events", "--since", "last tuesday")
    assert r.rc != 0 and "invalid time" in r.err
    # a Go-like template sees Docker's field names
    out = sampan.ok("events", "--since", f"{t0:.3f}", "--until", f"{time.time():.3f}", "--filter", "type=network",
                    "--format", "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}")
    assert out.splitlines() == ["network create evnet", "network destroy evnet"]
    # a duration counts back from now
    assert "evnet" in sampan.ok("events", "--since", "5m", "--until", "0s", "--filter", "type=network")


def test_follow_shows_new_events_only_and_until_ends_it(sampan):
    sampan.ok("create", "--name", "before", "busybox", "true")
    p = subprocess.Popen(sampan.argv("events", "--format", "{{.Action}} {{.Actor.Attributes.name}}"),
                         stdout=subprocess.PIPE, text=True, env=sampan.env())
    try:
        time.sleep(1.0)  # the follower is at the journal's end
        sampan.ok("rm", "before")
        assert p.stdout.readline().strip() == "destroy before"  # and not the create before it
    finally:
        p.kill()
        p.wait()
    # with until, the past comes first (as Docker: until alone shows the journal from its
    # start) and the stream ends once until passes, with nothing more to show
    t = time.monotonic()
    out = sampan.ok("events", "--until", f"{time.time() + 1.5:.3f}", "--filter", "container=before",
                    "--format", "{{.Action}}")
    assert out.split() == ["create", "destroy"] and 1.0 < time.monotonic() - t < 10
