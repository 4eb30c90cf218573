"""--restart: the monitor starts the same container again when its process exits."""

import json
import os
import time

from tests.support.polling import poll


def inspect(sampan, name):
    return json.loads(sampan.ok("inspect", name))[0]


def test_on_failure_restarts_n_times_same_layer(sampan):
    # each run appends to a file in its RW layer: the same container, the same layer
    sampan.ok("run", "-d", "--name", "of", "--restart", "on-failure:3", "busybox", "sh", "-c",
              "echo run >> /runs; exit 3")
    done = poll(lambda: (lambda s: s["State"]["Status"] == "exited" and s)(inspect(sampan, "of")))
    assert done, "the container never settled exited"
    assert done["RestartCount"] == 3 and done["State"]["ExitCode"] == 3
    assert done["HostConfig"]["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
    sampan.ok("start", "of")
    out = poll(lambda: sampan.ok("inspect", "-f", "{{.State.Status}}", "of").strip() == "exited"
               and sampan.ok("cp", "of:/runs", "-"))
    assert out.count("run") >= 5  # the earlier four runs' lines are still in its layer


def test_on_failure_success_does_not_restart(sampan):
    sampan.ok("run", "-d", "--name", "ok0", "--restart", "on-failure", "busybox", "true")
    assert sampan.ok("wait", "ok0").strip() == "0"
    st = inspect(sampan, "ok0")
    assert st["State"]["Status"] == "exited" and st["RestartCount"] == 0


def test_always_restarts_until_stopped_and_ps_says_restarting(sampan):
    sampan.ok("run", "-d", "--name", "al", "--restart", "always", "busybox", "sh", "-c", "sleep 0.3; exit 2")
    # it exits and comes back: RestartCount grows
    assert poll(lambda: inspect(sampan, "al")["RestartCount"] >= 2)
    # caught in its delay (it doubles: soon long enough to see): ps says so, and inspect has
    # Docker's Running and Restarting both true
    assert poll(lambda: "Restarting (2)" in sampan.ok("ps", "--format", "{{.Status}}", "-f", "name=al"),
                every=0.01)
    seen = poll(lambda: (lambda f: f[0] == "restarting" and f)(
        sampan.ok("inspect", "-f", "{{.State.Status}} {{.State.Restarting}} {{.State.Running}}", "al").split()),
        every=0.01)
    assert seen == ["restarting", "true", "true"]
    sampan.ok("stop", "al")
    st = inspect(sampan, "al")
    assert st["State"]["Status"] == "exited" and not st["State"]["Restarting"]
    count = st["RestartCount"]
    time.sleep(1.0)  # a restart would have come by now (delays are far below this)
    st = inspect(sampan, "al")
    assert st["State"]["Status"] == "exited" and st["RestartCount"] == count


def test_kill_by_user_does_not_restart(sampan):
    sampan.ok("run", "-d", "--name", "ki", "--restart", "always", "busybox", "sleep", "100")
    sampan.ok("kill", "ki")
    assert sampan.ok("wait", "ki").strip() == "137"
    time.sleep(0.5)
    st = inspect(sampan, "ki")
    assert st["State"]["Status"] == "exited" and st["RestartCount"] == 0


def test_process_killed_from_outside_is_restarted(sampan):
    sampan.ok("run", "-d", "--name", "ext", "--restart", "unless-stopped", "busybox", "sleep", "100")
    pid = int(sampan.ok("inspect", "-f", "{{.State.Pid}}", "ext"))
    os.kill(pid, 9)
    again = poll(lambda: (lambda s: s["State"]["Running"] and s["State"]["Pid"] not in (0, pid) and s)(
        inspect(sampan, "ext")))
    assert again and again["RestartCount"] == 1
    # and it really runs: exec into the new process
    assert sampan.ok("exec", "ext", "echo", "hi").strip() == "hi"


def test_manual_start_resets_count(sampan):
    sampan.ok("run", "-d", "--name", "rc", "--restart", "on-failure:1", "busybox", "false")
    assert poll(lambda: (lambda s: s["State"]["Status"] == "exited" and s["RestartCount"] == 1)(
        inspect(sampan, "rc")))
    sampan.ok("start", "rc")
    # Docker's start resets the count; the policy then restarts it once more
    assert poll(lambda: (lambda s: s["State"]["Status"] == "exited" and s["RestartCount"] == 1
                         and s["State"]["StartedAt"])(inspect(sampan, "rc")))


def test_rm_with_restart_is_docker_error(sampan):
    r = sampan("run", "--rm", "--restart", "always", "busybox", "true")
    assert r.rc == 125 and "conflicting options: cannot specify both --restart and --rm" in r.err
    for bad, msg in (("sometimes", "unknown policy 'sometimes'"), ("always:3", "can only be used with 'on-failure'"),
                     ("on-failure:x", "must be an integer"), ("on-failure:-1", "cannot be negative")):
        r = sampan("create", "--restart", bad, "busybox", "true")
        assert r.rc == 125 and msg in r.err and "Traceback" not in r.err
    assert sampan.ok("ps", "-aq") == ""


def holders(root) -> list[int]:
    """Processes with a descriptor open under root: a monitor holds its log, a monitor in its
    restart delay or a probe the database (their command lines do not name the root)."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
            if any(os.readlink(f"/proc/{pid}/fd/{fd}").startswith(str(root)) for fd in fds):
                found.append(int(pid))
        except OSError:
            continue
    return found


def test_rm_f_of_restarting_container_leaves_nothing(sampan):
    sampan.ok("run", "-d", "--name", "loop", "--restart", "always", "--health-cmd", "true",
              "--health-interval", "10ms", "busybox", "sh", "-c", "sleep 0.2; false")
    assert poll(lambda: inspect(sampan, "loop")["RestartCount"] >= 3)
    assert holders(sampan.root)  # (the helper sees the monitor)
    sampan.ok("rm", "-f", "loop")
    assert sampan.ok("ps", "-aq") == ""
    assert poll(lambda: not holders(sampan.root), timeout=10), holders(sampan.root)
    assert sampan.ok("ps", "-aq") == ""  # nothing came back to write its record again
    cdir = sampan.root / "containers"
    assert not cdir.exists() or not os.listdir(cdir)


def test_rm_refuses_restarting_without_force(sampan):
    sampan.ok("run", "-d", "--name", "slow", "--restart", "always", "busybox", "false")
    # the delay doubles: by the fifth restart it waits 1.6 s, long enough to catch it there
    assert poll(lambda: inspect(sampan, "slow")["RestartCount"] >= 5)
    caught = poll(lambda: inspect(sampan, "slow")["State"]["Restarting"], every=0.01)
    assert caught
    r = sampan("rm", "slow")
    # refused either way: restarting, or (if its delay ended meanwhile) running
    assert r.rc != 0 and ("is restarting: stop it first" in r.err or "is running" in r.err)


def test_tight_exit_loop_backs_off(sampan):
    """A container that exits at once with `always` is not restarted in a busy loop: each
    wait is at least twice the last, from 100 ms (read from the die and start events' times:
    a slow machine only makes them longer)."""
    since = str(int(time.time()) - 1)
    sampan.ok("run", "-d", "--name", "tight", "--restart", "always", "busybox", "true")
    assert poll(lambda: inspect(sampan, "tight")["RestartCount"] >= 5)
    sampan.ok("rm", "-f", "tight")
    lines = sampan.ok("events", "--since", since, "--until", str(int(time.time()) + 1), "--filter",
                      "container=tight", "--format", "{{.Action}} {{.TimeNano}}").split("\n")
    ev = [(a, int(t)) for a, t in (line.split() for line in lines if line.strip()) if a in ("die", "start")]
    gaps = [(t2 - t1) / 1e9 for (a1, t1), (a2, t2) in zip(ev, ev[1:]) if a1 == "die" and a2 == "start"]
    assert len(gaps) >= 4
    for i, gap in enumerate(gaps[:5]):
        assert gap >= 0.1 * 2 ** i, gaps


def test_update_restart_policy(sampan):
    sampan.ok("create", "--name", "up", "busybox", "sh", "-c", "exit 4")
    sampan.ok("update", "--restart", "on-failure:2", "up")
    assert inspect(sampan, "up")["HostConfig"]["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}
    sampan.ok("start", "up")
    assert poll(lambda: (lambda s: s["State"]["Status"] == "exited" and s["RestartCount"] == 2)(
        inspect(sampan, "up")))
    r = sampan("update", "--restart", "bogus", "up")
    assert r.rc == 1 and "unknown policy" in r.err
    r = sampan("update", "--restart", "always", "nope")
    assert r.rc == 1 and "nope" in r.err


def test_restore_starts_always_and_unless_stopped_once_per_boot(sampan):
    sampan.ok("run", "-d", "--name", "a1", "--restart", "always", "busybox", "sleep", "100")
    sampan.ok("run", "-d", "--name", "u1", "--restart", "unless-stopped", "busybox", "sleep", "100")
    sampan.ok("run", "-d", "--name", "n1", "busybox", "sleep", "100")
    sampan.ok("stop", "-t", "0", "a1", "u1", "n1")
    out = sampan.ok("system", "restore")
    # as Docker's daemon start: `always` comes back even after a stop, unless-stopped does not
    assert out.split() == ["a1"]
    states = {n: sampan.ok("inspect", "-f", "{{.State.Status}}", n).strip() for n in ("a1", "u1", "n1")}
    assert states == {"a1": "running", "u1": "exited", "n1": "exited"}
    sampan.ok("stop", "-t", "0", "a1")
    assert sampan.ok("system", "restore").strip() == ""  # once per boot


def test_events_die_then_start(sampan):
    since = str(int(time.time()) - 1)
    sampan.ok("run", "-d", "--name", "ev", "--restart", "on-failure:1", "busybox", "sh", "-c", "exit 9")
    assert poll(lambda: (lambda s: s["State"]["Status"] == "exited" and s["RestartCount"] == 1)(inspect(sampan, "ev")))
    actions = sampan.ok("events", "--since", since, "--until", str(int(time.time()) + 1), "--filter",
                        "container=ev", "--filter", "type=container", "--format", "{{.Action}}").split()
    # as Docker's policy restarts: no `restart` event (that is the user's verb)
    assert [a for a in actions if a in ("start", "die", "restart")] == ["start", "die", "start", "die"]


def test_attached_run_returns_the_first_exit_and_restarts_behind(sampan):
    r = sampan("run", "--name", "fg", "--restart", "on-failure:2", "--health-cmd", "true",
               "--health-interval", "50ms", "busybox", "sh", "-c", "echo once; sleep 0.3; exit 3")
    assert r.rc == 3 and r.out == "once\n"
    done = poll(lambda: (lambda s: s["State"]["Status"] == "exited" and s)(inspect(sampan, "fg")))
    assert done["RestartCount"] == 2 and sampan.ok("logs", "fg") == "once\n" * 3
