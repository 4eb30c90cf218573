"""Healthchecks run for real: the monitor starts a probe on schedule, State.Health follows
Docker's rules, ps shows it, events say when it changes."""

import json
import time
from tests.support.polling import poll


def health(sampan, name):
    return json.loads(sampan.ok("inspect", name))[0]["State"].get("Health")


def test_healthy_then_unhealthy_with_log_and_ps(sampan):
    # healthy while /ok exists in the container; the check runs inside it
    sampan.ok("run", "-d", "--name", "hc", "--health-cmd", "test -e /ok && echo fine",
              "--health-interval", "100ms", "--health-retries", "2", "busybox", "sh", "-c",
              "touch /ok; sleep 100")
    h = poll(lambda: (lambda h: h and h["Status"] == "healthy" and h)(health(sampan, "hc")))
    assert h and h["FailingStreak"] == 0
    assert h["Log"][-1]["ExitCode"] == 0 and h["Log"][-1]["Output"] == "fine\n"
    assert h["Log"][-1]["Start"] <= h["Log"][-1]["End"]
    assert sampan.ok("ps", "--format", "{{.Status}}", "-f", "name=hc").strip().endswith("(healthy)")
    assert sampan.ok("inspect", "-f", "{{.State.Health.Status}}", "hc").strip() == "healthy"
    sampan.ok("exec", "hc", "rm", "/ok")
    h = poll(lambda: (lambda h: h["Status"] == "unhealthy" and h)(health(sampan, "hc")))
    assert h and h["FailingStreak"] >= 2 and len(h["Log"]) <= 5 and h["Log"][-1]["ExitCode"] == 1
    events = sampan.ok("events", "--since", "0", "--until", str(int(time.time()) + 1),
                       "--filter", "container=hc", "--format", "{{.Action}}").split("\n")
    assert "health_status: healthy" in events and "health_status: unhealthy" in events
    cfg = json.loads(sampan.ok("inspect", "hc"))[0]["Config"]["Healthcheck"]
    assert cfg == {"Test": ["CMD-SHELL", "test -e /ok && echo fine"], "Interval": 100_000_000, "Retries": 2}
    sampan.ok("stop", "-t", "0", "hc")
    assert health(sampan, "hc")["Status"] == "unhealthy"  # as Docker: a stopped container's health


def test_starting_until_first_check(sampan):
    sampan.ok("run", "-d", "--name", "st", "--health-cmd", "true", "--health-interval", "1h",
              "busybox", "sleep", "100")
    assert health(sampan, "st") == {"Status": "starting", "FailingStreak": 0, "Log": []}
    assert "(health: starting)" in sampan.ok("ps", "--format", "{{.Status}}")


def test_start_period_failures_do_not_count(sampan):
    sampan.ok("run", "-d", "--name", "sp", "--health-cmd", "false", "--health-interval", "50ms",
              "--health-start-period", "1h", "--health-start-interval", "50ms", "--health-retries", "1",
              "busybox", "sleep", "100")
    h = poll(lambda: (lambda h: len(h["Log"]) >= 3 and h)(health(sampan, "sp")))
    assert h["Status"] == "starting" and h["FailingStreak"] == 0


def test_check_that_never_ends_is_killed_at_timeout(sampan):
    sampan.ok("run", "-d", "--name", "hang", "--health-cmd", "echo begun; sleep 1000",
              "--health-interval", "100ms", "--health-timeout", "300ms", "--health-retries", "1",
              "busybox", "sleep", "100")
    h = poll(lambda: (lambda h: h["Log"] and h)(health(sampan, "hang")))
    last = h["Log"][-1]
    assert last["ExitCode"] == -1 and last["Output"] == "Health check exceeded timeout (300ms): begun\n"
    assert h["Status"] == "unhealthy"


def test_check_that_prints_megabytes_is_truncated(sampan):
    sampan.ok("run", "-d", "--name", "big", "--health-cmd", "head -c 5000000 /dev/zero | tr '\\0' x",
              "--health-interval", "100ms", "busybox", "sleep", "100")
    h = poll(lambda: (lambda h: h["Log"] and h)(health(sampan, "big")))
    out = h["Log"][-1]["Output"]
    assert out == "x" * 4096 + "..." and h["Log"][-1]["ExitCode"] == 0


def test_exec_form_and_missing_command(sampan):
    sampan.ok("run", "-d", "--name", "nc", "--health-cmd", "", "busybox", "sleep", "100")  # empty: image's (none)
    assert health(sampan, "nc") is None
    sampan.ok("rm", "-f", "nc")
    r = sampan("run", "-d", "--no-healthcheck", "--health-cmd", "true", "busybox", "true")
    assert r.rc == 125 and "--no-healthcheck conflicts with --health-* options" in r.err
    r = sampan("run", "-d", "--health-interval", "soon", "--health-cmd", "true", "busybox", "true")
    assert r.rc == 125 and 'invalid duration "soon"' in r.err and "Traceback" not in r.err


def test_image_healthcheck_and_no_healthcheck(sampan, tmp_path):
    (tmp_path / "Dockerfile").write_text(
        'FROM busybox\nHEALTHCHECK --interval=100ms CMD ["/bin/sh", "-c", "echo img"]\nCMD ["sleep", "100"]\n')
    sampan.ok("build", "-q", "-t", "hcimg", str(tmp_path))
    sampan.ok("run", "-d", "--name", "fromimg", "hcimg")
    h = poll(lambda: (lambda h: h and h["Status"] == "healthy" and h)(health(sampan, "fromimg")))
    assert h["Log"][-1]["Output"] == "img\n"
    sampan.ok("run", "-d", "--name", "nohc", "--no-healthcheck", "hcimg")
    assert health(sampan, "nohc") is None
    assert "Healthcheck" not in json.loads(sampan.ok("inspect", "nohc"))[0]["Config"]
    # the user's interval over the image's test (Docker merges field by field)
    sampan.ok("create", "--name", "merged", "--health-interval", "2s", "hcimg")
    cfg = json.loads(sampan.ok("inspect", "merged"))[0]["Config"]["Healthcheck"]
    assert cfg["Test"] == ["CMD", "/bin/sh", "-c", "echo img"] and cfg["Interval"] == 2_000_000_000


def test_health_restarts_with_the_container(sampan):
    sampan.ok("run", "-d", "--name", "rs", "--health-cmd", "true", "--health-interval", "100ms",
              "busybox", "sleep", "100")
    assert poll(lambda: health(sampan, "rs")["Status"] == "healthy")
    sampan.ok("restart", "-t", "0", "rs")
    # at once, the new run's health: the old run's log is gone (any entry is a probe of the
    # new run: probes go on every 100 ms while the inspect runs), never the old `unhealthy`
    state = json.loads(sampan.ok("inspect", "rs"))[0]["State"]
    h = state["Health"]
    assert h["Status"] in ("starting", "healthy"), h
    assert all(entry["Start"] >= state["StartedAt"] for entry in h["Log"]), (state["StartedAt"], h)
    assert poll(lambda: health(sampan, "rs")["Status"] == "healthy")


def test_health_and_restart_under_runc(sampan):
    sampan.ok("run", "-d", "--runtime", "runc", "--name", "rh", "--restart", "always", "--health-cmd",
              "echo via-runc", "--health-interval", "100ms", "busybox", "sh", "-c", "sleep 5; exit 1")
    h = poll(lambda: (lambda h: h and h["Status"] == "healthy" and h)(health(sampan, "rh")))
    assert h["Log"][-1]["Output"] == "via-runc\n"
    assert poll(lambda: json.loads(sampan.ok("inspect", "rh"))[0]["RestartCount"] >= 1)
    sampan.ok("rm", "-f", "rh")


def test_paused_container_fails_its_checks_without_hanging(sampan):
    sampan.ok("run", "-d", "--name", "pz", "--health-cmd", "true", "--health-interval", "50ms",
              "--health-timeout", "1h", "--health-retries", "1", "busybox", "sleep", "100")
    assert poll(lambda: health(sampan, "pz")["Status"] == "healthy")
    sampan.ok("pause", "pz")
    h = poll(lambda: (lambda h: h["Status"] == "unhealthy" and h)(health(sampan, "pz")))
    assert h["Log"][-1]["ExitCode"] == -1 and "is paused" in h["Log"][-1]["Output"]
    sampan.ok("unpause", "pz")
    assert poll(lambda: health(sampan, "pz")["Status"] == "healthy")


def test_check_leaving_a_background_process_holding_its_output_does_not_hang(sampan):
    # the check exits at once, but a child keeps the output pipe open for ever: with a timeout
    # of an hour, only the check's own exit can end each probe
    sampan.ok("run", "-d", "--name", "bg", "--health-cmd", "sleep 1000 & echo bg", "--health-timeout", "1h",
              "--health-interval", "100ms", "busybox", "sleep", "100")
    h = poll(lambda: (lambda h: len(h["Log"]) >= 2 and h)(health(sampan, "bg")))
    assert h and h["Status"] == "healthy" and h["Log"][-1]["Output"] == "bg\n"
