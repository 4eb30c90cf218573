"""`rm -f` of many containers at once (engine/bulk_remove.py): every kind of container in
one command, each removed, nothing of them left once the background work is done, and
the events Docker writes for each."""

from __future__ import annotations

import json
import os
import time

from tests.integration.engine.conftest import settle
from tests.support import leaks
from tests.support.net import free_port
from tests.support.polling import poll


def _rules_naming(cids: list[str]) -> list[str]:
    import subprocess
    out = subprocess.run(["iptables-save"], capture_output=True, text=True).stdout
    return [l for l in out.splitlines() if any(c in l for c in cids)]


def test_rm_f_of_many_removes_each_kind_and_leaves_nothing(sampan):
    ids = {
        "bridge": sampan.ok("run", "-d", "busybox", "sleep", "1000").strip(),
        "published": sampan.ok("run", "-d", "-p", f"{free_port()}:80", "busybox", "sleep", "1000").strip(),
        "none": sampan.ok("run", "-d", "--network", "none", "busybox", "sleep", "1000").strip(),
        "runc": sampan.ok("run", "-d", "--runtime", "runc", "busybox", "sleep", "1000").strip(),
        "exited": sampan.ok("run", "-d", "busybox", "true").strip(),
        "paused": sampan.ok("run", "-d", "busybox", "sleep", "1000").strip(),
    }
    sampan.ok("pause", ids["paused"])
    assert poll(lambda: "Exited (0)" in sampan.ok("ps", "-a", "--filter", f"id={ids['exited']}"))
    time.sleep(0.5)  # the detached monitors are lean now (the bulk path kills those)
    ids["fresh"] = sampan.ok("run", "-d", "busybox", "sleep", "1000").strip()  # its monitor is not yet
    processes = {k: leaks.cgroup_processes(cid) for k, cid in ids.items() if k != "exited"}
    assert all(processes.values())
    t0 = time.time()
    names = list(ids.values())
    r = sampan("rm", "-f", names[0], names[1], "nosuchcontainer", *names[2:])
    # as Docker since 20.10: with -f a missing name is no error, and is not printed
    assert (r.rc, r.out.split(), r.err) == (0, names, "")
    assert sampan.ok("ps", "-aq") == ""
    for k, procs in processes.items():
        assert not leaks.still_alive(procs), k
    for cid in ids.values():
        assert leaks.cgroups_named(cid) == []
        assert leaks.mounts_under(str(sampan.root / "containers" / cid)) == []
    # what runs on in the background: the network teardown and the directories' deletion
    settle(sampan)
    assert poll(lambda: not any(n.startswith("trash-") for n in os.listdir(sampan.root / "tmp")))
    assert not any((sampan.root / "containers" / cid).exists() for cid in ids.values())
    assert _rules_naming(list(ids.values())) == []
    import sqlite3
    conn = sqlite3.connect(sampan.root / "sampan.db")
    try:
        assert conn.execute("SELECT COUNT(*) FROM net_attachments WHERE state!='spare'").fetchone()[0] == 0
        assert conn.execute("SELECT COUNT(*) FROM net_ports").fetchone()[0] == 0
    finally:
        conn.close()
    # Docker's events for each: kill and die for those that ran, destroy for all
    out = sampan.ok("events", "--since", f"{t0:.3f}", "--until", f"{time.time() + 0.2:.3f}", "--format", "json")
    evs = [json.loads(line) for line in out.splitlines()]
    for k, cid in ids.items():
        actions = [e["Action"] for e in evs if e["Actor"]["ID"] == cid]
        assert actions[-1] == "destroy" and actions.count("destroy") == 1, (k, actions)
        if k != "exited":
            assert "kill" in actions and "die" in actions, (k, actions)


def test_rm_f_of_many_refuses_nothing_a_single_rm_f_would_do(sampan):
    """The same names twice, and a container given by name and by id: removed once, the
    repeats reported as gone (as one `rm -f` after another would)."""
    cid = sampan.ok("run", "-d", "--name", "twice", "busybox", "sleep", "1000").strip()
    r = sampan("rm", "-f", "twice", cid[:12])
    # the repeat is gone by then: with -f that is quiet, as in Docker
    assert (r.rc, r.out.split(), r.err) == (0, ["twice"], "")
    assert sampan.ok("ps", "-aq") == ""
    settle(sampan)
