"""`update` of a running container's limits: read back from inside its own cgroup (v1 here,
v2 in scripts/test-vm's guest), kept for its next start, refused whole when one is bad."""

import json

import pytest

from tests.support import cgroups

MIB = 1 << 20


def _read(sampan, name: str, files: list[str]) -> dict[str, str]:
    script = "cd /sys/fs/cgroup && for f in " + " ".join(files) + "; do echo $f=$(cat $f); done"
    out = sampan.ok("exec", name, "sh", "-c", script)
    return dict(line.split("=", 1) for line in out.splitlines())


def _files() -> dict[str, str]:
    if cgroups.V2:
        return {"memory": "memory.max", "pids": "pids.max", "cpu": "cpu.max"}
    return {"memory": "memory/memory.limit_in_bytes", "pids": "pids/pids.max", "cpu": "cpu/cpu.cfs_quota_us"}


@pytest.mark.parametrize("runtime", ["native", "runc"])
def test_update_limits_of_a_running_container(sampan, runtime):
    f = _files()
    sampan.ok("run", "-d", "--name", "up", "--runtime", runtime, "--network", "none", "--memory", "64m",
              "--pids-limit", "50", "busybox", "sleep", "300")
    assert sampan.ok("update", "--memory", "128m", "--pids-limit", "80", "--cpus", "0.5", "up").strip() == "up"
    seen = _read(sampan, "up", list(f.values()))
    assert seen[f["memory"]] == str(128 * MIB)
    assert seen[f["pids"]] == "80"
    assert seen[f["cpu"]].split()[0] == "50000"
    host = json.loads(sampan.ok("inspect", "up"))[0]["HostConfig"]
    assert (host["Memory"], host["PidsLimit"], host["NanoCpus"]) == (128 * MIB, 80, 500_000_000)
    # smaller again (v1 writes memory before memory+swap then), and pids unlimited
    sampan.ok("update", "-m", "96m", "--pids-limit", "-1", "up")
    seen = _read(sampan, "up", list(f.values()))
    assert seen[f["memory"]] == str(96 * MIB) and seen[f["pids"]] == "max"
    # a bad value changes nothing, not even the good ones beside it
    r = sampan("update", "--memory", "200m", "--cpus", "lots", "up")
    assert r.rc != 0 and "--cpus" in r.err
    assert _read(sampan, "up", [f["memory"]])[f["memory"]] == str(96 * MIB)
    # kept for the next start
    sampan.ok("stop", "-t", "0", "up")
    sampan.ok("start", "up")
    assert _read(sampan, "up", [f["memory"]])[f["memory"]] == str(96 * MIB)
    sampan.ok("rm", "-f", "up")


def test_update_of_a_stopped_container_applies_at_its_start(sampan):
    f = _files()
    sampan.ok("create", "--name", "later", "--network", "none", "busybox", "sleep", "300")
    sampan.ok("update", "--memory", "48m", "later")
    sampan.ok("start", "later")
    assert _read(sampan, "later", [f["memory"]])[f["memory"]] == str(48 * MIB)
    r = sampan("update", "--memory", "64m", "no-such-box")
    assert r.rc == 1 and "no-such-box" in r.err
    sampan.ok("rm", "-f", "later")
