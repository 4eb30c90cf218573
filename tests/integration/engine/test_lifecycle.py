"""Detached containers: logs, exec, stop/kill/restart/wait, the monitor, volumes, limits."""

import json
import time

from tests.support.leaks import mounts_under


def _wait_for(pred, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return False


def test_detach_logs_and_ps(sampan):
    cid = sampan.ok("run", "-d", "--name", "talker", "busybox", "sh", "-c",
                    "echo out1; echo err1 >&2; sleep 0.3; echo out2; sleep 100").strip()
    assert len(cid) == 64
    assert _wait_for(lambda: "out2" in sampan.ok("logs", "talker"))
    r = sampan("logs", "talker")
    assert r.out == "out1\nout2\n" and r.err == "err1\n"
    assert sampan.ok("logs", "--tail", "1", "talker") == "out2\n"
    stamped = sampan.ok("logs", "-t", "--tail", "1", "talker")
    assert stamped.endswith(" out2\n") and stamped[:4].isdigit() and "T" in stamped.split()[0]
    assert sampan.ok("ps", "-q") == cid[:12] + "\n"
    assert sampan.ok("ps", "--no-trunc", "-q") == cid + "\n"
    assert "Up " in sampan.ok("ps")
    assert sampan.ok("ps", "-q", "--filter", "status=exited") == ""
    assert sampan.ok("ps", "-q", "--filter", "name=talk") == cid[:12] + "\n"
    # the log is Docker's json-file format
    logfile = sampan.root / "containers" / cid / f"{cid}-json.log"
    first = json.loads(logfile.read_text().splitlines()[0])
    assert first["log"] == "out1\n" and first["stream"] == "stdout" and first["time"].endswith("Z")
    sampan.ok("rm", "-f", "talker")


def test_logs_follow_ends_when_container_exits(sampan):
    sampan.ok("run", "-d", "--name", "short", "busybox", "sh", "-c", "echo a; sleep 1; echo b")
    r = sampan("logs", "-f", "short", timeout=20)
    assert r.rc == 0 and r.out == "a\nb\n"


def test_exec_joins_the_container(sampan):
    sampan.ok("run", "-d", "--name", "host1", "-h", "insider", "-e", "K=v", "busybox", "sleep", "100")
    out = sampan.ok("exec", "-e", "X=y", "-w", "/tmp", "host1", "sh", "-c",
                    "hostname; echo $K $X; pwd; cat /proc/1/cmdline | tr '\\0' ' '")
    assert out.splitlines() == ["insider", "v y", "/tmp", "sleep 100 "]
    assert sampan.ok("exec", "-u", "www-data", "host1", "id", "-u").strip() == "33"
    assert sampan("exec", "host1", "sh", "-c", "exit 4").rc == 4
    assert sampan("exec", "host1", "nope").rc == 127
    sampan.ok("exec", "-d", "host1", "sh", "-c", "echo bg > /tmp/bg")
    assert _wait_for(lambda: sampan("exec", "host1", "cat", "/tmp/bg").out == "bg\n")
    sampan.ok("stop", "-t", "0", "host1")
    r = sampan("exec", "host1", "true")
    assert r.rc == 125 and "not running" in r.err


def test_stop_uses_sigterm_then_sigkill(sampan):
    # A process that handles SIGTERM exits with its own code (not SIGKILL's 137).
    # (How long either takes is bench/'s business, not a test's.)
    sampan.ok("run", "-d", "--name", "polite", "busybox", "sh", "-c",
              "trap 'exit 42' TERM; while true; do sleep 0.1; done")
    sampan.ok("stop", "-t", "10", "polite")
    assert sampan.ok("inspect", "-f", "{{.State.ExitCode}}", "polite").strip() == "42"
    # One that ignores it is killed after the timeout, and the note explains why.
    sampan.ok("run", "-d", "--name", "deaf", "busybox", "sh", "-c", "while true; do sleep 0.1; done")
    r = sampan("stop", "-t", "1", "deaf")
    assert r.rc == 0 and "sh -c" in r.err and "exec" in r.err
    assert sampan.ok("inspect", "-f", "{{.State.ExitCode}}", "deaf").strip() == "137"


def test_stop_signal_from_flag(sampan):
    sampan.ok("run", "-d", "--name", "usr1", "--stop-signal", "USR1", "busybox", "sh", "-c",
              "trap 'exit 10' USR1; while true; do sleep 0.1; done")
    sampan.ok("stop", "usr1")
    assert sampan.ok("inspect", "-f", "{{.State.ExitCode}}", "usr1").strip() == "10"


def test_kill_signal_restart_and_wait(sampan):
    sampan.ok("run", "-d", "--name", "kk", "busybox", "sh", "-c",
              "trap 'exit 7' HUP; while true; do sleep 0.1; done")
    sampan.ok("kill", "-s", "HUP", "kk")
    assert sampan.ok("wait", "kk").strip() == "7"
    sampan.ok("restart", "kk")
    # as Docker's: a start by the user (restart too) sets RestartCount back to 0
    assert sampan.ok("inspect", "-f", "{{.State.Running}} {{.RestartCount}}", "kk").split() == ["true", "0"]
    sampan.ok("kill", "kk")
    assert sampan.ok("wait", "kk").strip() == "137"
    r = sampan("kill", "kk")
    assert r.rc != 0 and "not running" in r.err


def test_rm_refuses_running_and_reports_each(sampan):
    sampan.ok("run", "-d", "--name", "busy", "busybox", "sleep", "100")
    sampan.ok("create", "--name", "idle", "busybox")
    r = sampan("rm", "busy", "idle", "missing")
    assert r.rc == 1
    assert "busy is running" in r.err and "missing" in r.err
    assert r.out.split() == ["idle"]
    sampan.ok("rm", "-f", "busy")
    assert sampan.ok("ps", "-aq") == ""
    assert mounts_under(str(sampan.root), but_layers=True) == []


def test_create_then_start_attach(sampan):
    sampan.ok("create", "--name", "later", "busybox", "sh", "-c", "echo started; exit 5")
    assert "Created" in sampan.ok("ps", "-a")
    r = sampan("start", "-a", "later")
    assert r.rc == 5 and r.out == "started\n"
    assert sampan.ok("start", "later") == "later\n"
    assert sampan.ok("wait", "later").strip() == "5"


def test_interactive_stdin(sampan):
    r = sampan("run", "--rm", "-i", "busybox", "sh", "-c", "read x; echo got $x; cat", input=b"one\ntwo\n")
    assert r.rc == 0 and r.out == "got one\ntwo\n"


def test_named_volume_outlives_container(sampan):
    sampan.ok("run", "--rm", "-v", "data:/data", "busybox", "sh", "-c", "echo kept > /data/f")
    assert sampan.ok("volume", "ls", "-q").split() == ["data"]
    assert sampan.ok("run", "--rm", "-v", "data:/data:ro", "busybox", "cat", "/data/f") == "kept\n"
    r = sampan("run", "--rm", "-v", "data:/data:ro", "busybox", "sh", "-c", "echo x > /data/g")
    assert r.rc != 0 and "Read-only" in r.err
    sampan.ok("run", "--name", "user", "-v", "data:/data", "busybox", "true")
    r = sampan("volume", "rm", "data")
    assert r.rc != 0 and "in use" in r.err
    sampan.ok("rm", "user")
    sampan.ok("volume", "rm", "data")
    assert sampan.ok("volume", "ls", "-q") == ""


def test_bind_mount(sampan, tmp_path):
    (tmp_path / "in.txt").write_text("from host\n")
    out = sampan.ok("run", "--rm", "-v", f"{tmp_path}:/mnt/h", "busybox", "sh", "-c",
                    "cat /mnt/h/in.txt; echo back > /mnt/h/out.txt")
    assert out == "from host\n"
    assert (tmp_path / "out.txt").read_text() == "back\n"


def test_memory_limit_oom_kill(sampan):
    r = sampan("run", "--name", "hog", "--memory", "16m", "busybox", "sh", "-c",
               "x=$(head -c 64000000 /dev/zero | tr '\\0' a); echo survived", timeout=60)
    assert r.rc == 137 or "survived" not in r.out
    st = json.loads(sampan.ok("inspect", "hog"))[0]["State"]
    assert st["OOMKilled"] is True, st
    assert sampan.ok("run", "--rm", "--memory", "16m", "busybox", "sh", "-c",
                     "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max"
                     ).strip() == str(16 * 1024 * 1024)


def test_pids_limit_stops_fork_loop(sampan):
    out = sampan.ok("run", "--rm", "--pids-limit", "20", "busybox", "sh", "-c",
                    "(for i in $(seq 40); do sleep 2 & echo $! >> /tmp/started; done) 2>/tmp/err; "
                    "sleep 2.5; cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max; "
                    "wc -l < /tmp/started; cat /tmp/err", timeout=60)
    limit, started, err = out.split("\n", 2)
    assert limit == "20"
    assert int(started) < 20
    assert "can't fork" in err


def test_wait_on_an_auto_removed_container_gives_its_exit_code(sampan):
    cid = sampan.ok("run", "-d", "--rm", "--name", "brief", "busybox", "sh", "-c", "exit 6").strip()
    assert _wait_for(lambda: sampan.ok("ps", "-aq") == "")  # removed before anyone waits
    for ref in (cid, cid[:12], "brief"):
        r = sampan("wait", ref)
        assert (r.rc, r.out.strip()) == (0, "6"), (ref, r.err)
    assert sampan("wait", "never-was").rc != 0


def test_lock_files_go_with_their_containers(sampan):
    from tests.integration.engine.conftest import settle
    sampan.ok("run", "--rm", "busybox", "true")                      # bridge: a teardown lock too
    sampan.ok("run", "--rm", "--network", "none", "busybox", "true")
    cid = sampan.ok("run", "-d", "busybox", "sleep", "100").strip()
    sampan.ok("rm", "-f", cid)
    sampan.ok("create", "--name", "made", "busybox", "true")
    sampan.ok("rm", "made")
    settle(sampan)
    deadline = time.monotonic() + 10
    left = ["?"]
    while left and time.monotonic() < deadline:  # --rm's monitor discards its lock after cleanup
        left = [p.name for p in (sampan.runroot / "locks").iterdir()
                if len(p.name) == 64 or p.name.startswith("net-teardown-")]
        time.sleep(0.05)
    assert left == []


def test_rename_keeps_the_container_and_frees_the_old_name(sampan):
    cid = sampan.ok("run", "-d", "--name", "before", "busybox", "sleep", "30").strip()
    assert sampan("rename", "before", "after").rc == 0
    assert sampan.ok("inspect", "-f", "{{.Id}} {{.Name}}", "after").split() == [cid, "/after"]
    assert sampan("inspect", "before").rc != 0
    sampan.ok("create", "--name", "before", "busybox", "true")  # the old name is free again
    taken = sampan("rename", "after", "before")
    assert taken.rc == 125 and "already in use" in taken.err and "Traceback" not in taken.err
    bad = sampan("rename", "after", "no/slash")
    assert bad.rc == 125 and "invalid" in bad.err
