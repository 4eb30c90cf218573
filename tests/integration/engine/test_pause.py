"""`pause`/`unpause`: the kernel's freezer (v1 freezer.state, v2 cgroup.freeze) stops
every process of the container; ps and inspect say paused; stop, kill and rm -f thaw it."""

import time
from pathlib import Path

from tests.support.polling import poll

CG = Path("/sys/fs/cgroup")


def _frozen_in_kernel(cid: str) -> bool:
    if (CG / "cgroup.controllers").exists():
        return (CG / "sampan" / cid / "cgroup.freeze").read_text().strip() == "1" and \
            "frozen 1" in (CG / "sampan" / cid / "cgroup.events").read_text()
    return (CG / "freezer" / "sampan" / cid / "freezer.state").read_text().strip() == "FROZEN"


def _cgroup_dirs(cid: str) -> list[Path]:
    if (CG / "cgroup.controllers").exists():
        return [p for p in [CG / "sampan" / cid] if p.exists()]
    return [d / "sampan" / cid for d in CG.iterdir() if (d / "sampan" / cid).exists()]


def _counter(sampan, cid: str) -> int | None:
    """The ticker's count; None while it is being written (`echo $i > /tmp/n` truncates the
    file, then writes it: a read in between finds it empty)."""
    text = (sampan.root / "containers" / cid / "rootfs" / "tmp" / "n").read_text().strip()
    return int(text) if text else None


def test_pause_freezes_every_process_and_unpause_thaws(sampan):
    # a counter written by a child of the init: both must freeze
    cid = sampan.ok("run", "-d", "--network", "none", "--name", "ticker", "busybox", "sh", "-c",
                    "(i=0; while :; do i=$((i+1)); echo $i > /tmp/n; sleep 0.02; done) & wait").strip()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if (_counter(sampan, cid) or 0) > 2:
                break
        except OSError:
            pass
        time.sleep(0.05)
    sampan.ok("pause", "ticker")
    assert _frozen_in_kernel(cid)
    n = _counter(sampan, cid)  # None: frozen between the truncation and the write
    time.sleep(0.5)
    assert _counter(sampan, cid) == n, "a paused container went on running"
    n = n or 0
    assert sampan.ok("inspect", "-f", "{{.State.Status}} {{.State.Paused}} {{.State.Running}}", "ticker").strip() \
        == "paused true true"
    assert "(Paused)" in sampan.ok("ps")
    assert sampan.ok("ps", "-q", "--filter", "status=paused") == cid[:12] + "\n"
    assert sampan.ok("ps", "-q", "--filter", "status=running") == ""
    r = sampan("exec", "ticker", "true")
    assert r.rc != 0 and "paused" in r.err
    r = sampan("pause", "ticker")
    assert r.rc == 1 and "already paused" in r.err
    sampan.ok("unpause", "ticker")
    assert not _frozen_in_kernel(cid)
    assert poll(lambda: (_counter(sampan, cid) or 0) > n), "an unpaused container does not run"
    assert sampan.ok("inspect", "-f", "{{.State.Status}} {{.State.Paused}}", "ticker").strip() == "running false"
    r = sampan("unpause", "ticker")
    assert r.rc == 1 and "not paused" in r.err
    sampan.ok("exec", "ticker", "true")  # exec works again, and joins the (thawed) freezer too
    sampan.ok("rm", "-f", "ticker")


def test_stop_kill_and_rm_of_a_paused_container(sampan):
    sampan.ok("run", "-d", "--network", "none", "--name", "p1", "busybox", "sh", "-c",
              "trap 'exit 7' TERM; while :; do sleep 0.05; done")
    sampan.ok("pause", "p1")
    sampan.ok("stop", "-t", "60", "p1")  # thawed, so the trap runs: 7, not SIGKILL's 137
    assert sampan.ok("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "p1").strip() == "exited 7"
    r = sampan("pause", "p1")
    assert r.rc == 1 and "not running" in r.err
    sampan.ok("start", "p1")
    sampan.ok("pause", "p1")
    sampan.ok("kill", "p1")
    assert sampan.ok("wait", "p1").strip() == "137"
    sampan.ok("start", "p1")
    cid = sampan.ok("inspect", "-f", "{{.Id}}", "p1").strip()
    sampan.ok("pause", "p1")
    sampan.ok("rm", "-f", "p1")
    assert _cgroup_dirs(cid) == []  # the freezer's dir too
    assert sampan("pause", "p1").rc == 1
