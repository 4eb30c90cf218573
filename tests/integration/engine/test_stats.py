"""`stats`: CPU, memory, pids, network and block IO read from the container's cgroup
(v1 or v2) and its network namespace, as Docker's table and JSON."""

import json
import subprocess
import time


def _json(sampan, *refs: str) -> list[dict]:
    out = sampan.ok("stats", "--no-stream", "--format", "{{json .}}", *refs)
    return [json.loads(line) for line in out.splitlines()]


def test_stats_reads_the_cgroup(sampan):
    sampan.ok("run", "-d", "--name", "burner", "-m", "48m", "--pids-limit", "20", "busybox", "sh", "-c",
              "sleep 300 & sleep 300 & while :; do :; done")
    sampan.ok("run", "-d", "--network", "none", "--name", "idle", "busybox", "sleep", "300")
    sampan.ok("create", "--name", "made", "busybox", "true")
    table = sampan.ok("stats", "--no-stream").splitlines()
    assert table[0].split() == ["CONTAINER", "ID", "NAME", "CPU", "%", "MEM", "USAGE", "/", "LIMIT", "MEM", "%",
                                "NET", "I/O", "BLOCK", "I/O", "PIDS"]
    assert sorted(line.split()[1] for line in table[1:]) == ["burner", "idle"]  # running ones only
    rows = {r["Name"]: r for r in _json(sampan, "burner", "idle")}
    burner, idle = rows["burner"], rows["idle"]
    assert float(burner["CPUPerc"].rstrip("%")) > 2  # a busy loop (on a loaded host: a share of a core)
    assert burner["MemUsage"].endswith(" / 48MiB") and burner["PIDs"] == "3"
    assert float(idle["CPUPerc"].rstrip("%")) < 5 and idle["PIDs"] == "1"
    assert idle["NetIO"] == "0B / 0B"  # --network none: no interface but lo
    assert sampan.ok("stats", "--no-stream", "--format", "{{.Name}}:{{.PIDs}}", "made").strip() == "made:0"
    names = sampan.ok("stats", "--no-stream", "-a", "--format", "{{.Name}}").split()
    assert sorted(names) == ["burner", "idle", "made"]
    r = sampan("stats", "--no-stream", "nope")
    assert r.rc == 1 and "nope" in r.err
    sampan.ok("rm", "-f", "burner", "idle", "made")


def test_stats_streams_a_table_each_second(sampan):
    sampan.ok("run", "-d", "--network", "none", "--name", "s1", "busybox", "sleep", "300")
    p = subprocess.Popen(sampan.argv("stats", "--format", "{{.Name}} {{.PIDs}}", "s1"), stdout=subprocess.PIPE,
                         text=True, env=sampan.env())
    try:
        lines, t = [], time.monotonic()
        while len(lines) < 3 and time.monotonic() - t < 20:
            lines.append(p.stdout.readline().strip())
        assert lines == ["s1 1"] * 3
        assert time.monotonic() - t > 1.5  # refreshed about each second, not in a busy loop
    finally:
        p.kill()
        p.wait()
    sampan.ok("rm", "-f", "s1")
