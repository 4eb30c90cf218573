"""`sampan --explain`: each line is checked against what really happened on the host (the
cgroup file holds the limit shown, the address is the one the container sees, the NAT
rule is in iptables, the layers are the image's), and nothing is written without it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from tests.integration.engine.conftest import settle
from tests.support.cli import Sampan
from tests.support.net import free_port

LINE = re.compile(r"^ +\d+\.\d ms  ([a-z_ ]+): (.*)$")


def steps(err: str) -> list[tuple[str, str]]:
    """(step, text) of each explain line in a command's stderr."""
    return [(m.group(1), m.group(2)) for m in map(LINE.match, err.splitlines()) if m]


def texts(err: str, step: str) -> list[str]:
    return [t for s, t in steps(err) if s == step]


def test_run_lines_match_the_cgroup_address_nat_rule_and_layers(sampan):
    port = free_port()
    r = sampan("--explain", "run", "-d", "--name", "web", "-m", "64m", "-p", f"{port}:80",
               "busybox", "sleep", "300", timeout=300)  # the cgroup v2 guest emulates its CPU
    assert r.rc == 0, r.err
    cid = r.out.strip()
    lines = steps(r.err)
    assert 15 <= len(lines) <= 45, r.err
    assert r.err.count("\n") == len(lines), r.err  # every stderr line is an explain line

    # the image's layers, by the digests `inspect` shows
    layers = json.loads(sampan.ok("image", "inspect", "busybox"))[0]["RootFS"]["Layers"]
    shown = [re.search(r"sha256:[0-9a-f]{64}", t).group(0) for t in texts(r.err, "layer")]
    assert shown == layers

    # the memory limit, in the cgroup file the line names, read while the container runs
    limit = [t for t in texts(r.err, "cgroup limit") if t.split(" = ")[0].endswith(("memory.max",
                                                                                       "memory.limit_in_bytes"))]
    assert limit, r.err
    path, value = limit[0].split(" = ")
    assert value == str(64 * 1024 * 1024)
    assert cid in path and Path(path).read_text().strip() == value

    # the address shown is the container's own, as it sees it
    ip = re.match(r"(\d+\.\d+\.\d+\.\d+)/\d+ ", texts(r.err, "address")[0]).group(1)
    inside = sampan.ok("exec", "web", "ip", "-4", "-o", "addr", "show", "eth0")
    assert f" {ip}/" in inside

    # the NAT rules shown are in the kernel's table now, and one sends the port to the container
    rules = [t.removeprefix("iptables -t nat ") for t in texts(r.err, "nat rule")]
    table = subprocess.run(["iptables-save", "-t", "nat"], capture_output=True, text=True).stdout.splitlines()
    assert rules and all(rule in table for rule in rules)
    assert any(f"--dport {port} " in rule and f"{ip}:80" in rule for rule in rules)

    # inside: namespaces, pivot_root, capabilities, seccomp, and the exec of PID 1
    assert "mount" in texts(r.err, "namespaces")[0]
    assert texts(r.err, "pivot_root")[0].startswith(str(sampan.root / "containers" / cid / "rootfs"))
    assert "drops" in texts(r.err, "capabilities")[0]
    assert len(texts(r.err, "seccomp")) == 2
    assert "/bin/sleep 300" in texts(r.err, "exec")[0]

    # rm -f: what it removed is gone
    r = sampan("--explain", "rm", "-f", "web", timeout=300)
    assert r.rc == 0, r.err
    removed = texts(r.err, "removed")
    assert any(t.startswith("overlay unmounted") for t in removed)
    assert any(ip in t for t in removed), r.err
    assert not (sampan.root / "containers" / cid).exists()
    settle(sampan)  # the CNI DEL runs in the background, as the line says
    table = subprocess.run(["iptables-save", "-t", "nat"], capture_output=True, text=True).stdout.splitlines()
    assert not any(rule in table for rule in rules if f"{ip}:80" in rule)


def test_the_limit_shown_is_in_the_cgroup_the_container_has(sampan):
    """One command (the cgroup v2 guest's test): the memory limit line names a file of this
    container's cgroup, and the container reads the same value from its own cgroup root."""
    r = sampan("--explain", "run", "--rm", "-m", "64m", "--network", "none", "busybox", "sh", "-c",
               "cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null; true",
               timeout=300)  # the guest emulates its CPU
    assert r.rc == 0, r.err
    (created,) = [t for t in texts(r.err, "cgroup") if t.startswith("/sampan/")]
    cgroup = created.split()[0]
    limits = [t.split(" = ") for t in texts(r.err, "cgroup limit")]
    memory = [(path, value) for path, value in limits if path.endswith(("/memory.max", "/memory.limit_in_bytes"))]
    assert memory and all(path.endswith(cgroup + "/" + path.rsplit("/", 1)[1]) for path, _ in memory)
    assert memory[0][1] == str(64 * 1024 * 1024) == r.out.strip()


def test_a_foreground_run_explains_its_exit_and_cleanup(sampan):
    r = sampan("--explain", "run", "--rm", "busybox", "sh", "-c", "echo out; exit 3")
    assert r.rc == 3 and r.out == "out\n"
    names = [s for s, _ in steps(r.err)]
    assert names.index("image") < names.index("overlay") < names.index("namespaces") < names.index("exec")
    assert "exit code 3" in texts(r.err, "exit")[0]
    removed = texts(r.err, "removed")  # written after the client was told the exit: waited for
    gone = [re.match(r"container \w+: (\S+) deleted", t) for t in removed]
    assert any(gone) and all(not Path(m.group(1)).exists() for m in gone if m)


def test_without_explain_nothing_is_written(sampan, tmp_path):
    """The variable alone (without the flag) writes nothing, and --explain leaves no file."""
    trap = tmp_path / "trap"
    trap.write_text("")
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    env = dict(sampan.env(), SAMPAN_EXPLAIN=str(trap), TMPDIR=str(private_tmp))
    for args in (["run", "--rm", "-p", f"{free_port()}:80", "busybox", "true"],
                 ["run", "--rm", "--network", "none", "busybox", "true"]):
        p = subprocess.run(sampan.argv(*args), capture_output=True, text=True, env=env, timeout=60)
        assert p.returncode == 0 and p.stderr == "", p.stderr
    assert trap.read_text() == ""
    p = subprocess.run(sampan.argv("--explain", "run", "--rm", "busybox", "true"), capture_output=True,
                       text=True, env=env, timeout=60)
    assert p.returncode == 0 and steps(p.stderr)
    assert trap.read_text() == "" and os.listdir(private_tmp) == []  # its own file, removed


def test_build_names_the_changed_file_and_escapes_hostile_names(sampan, tmp_path):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text('FROM busybox\nCOPY . /app\nRUN cat /app/a.txt > /b\nCMD ["sh"]\n')
    (ctx / ".dockerignore").write_text("Dockerfile\n.dockerignore\n")
    (ctx / "a.txt").write_text("one\n")
    (ctx / "b.txt").write_text("two\n")
    evil = ctx / "evil\x1b[31m\nname: forged"
    evil.write_text("x")
    first = sampan("--explain", "build", "-t", "x", str(ctx))
    assert first.rc == 0, first.err
    assert "nothing was built on this parent before" in texts(first.err, "build cache")[0]

    (ctx / "a.txt").write_text("changed\n")
    evil.write_text("y")
    again = sampan("--explain", "build", "-t", "x", str(ctx))
    assert again.rc == 0, again.err
    copy, run = texts(again.err, "build cache")
    assert copy.startswith("[2/3] COPY . /app: runs: source files differ from the last build: changed: a.txt, evil")
    assert "evil\\x1b[31m\\x0aname: forged" in copy
    assert "b.txt" not in copy
    assert "a step above ran" in run
    assert "\x1b" not in again.err and not any(line.startswith("name: forged") for line in again.err.splitlines())

    cached = sampan("--explain", "build", "-t", "x", str(ctx))
    assert all(": cached:" in t for t in texts(cached.err, "build cache")) and len(texts(cached.err, "build cache")) == 2
    assert not texts(cached.err, "exec")  # no RUN step ran

    (ctx / "Dockerfile").write_text('FROM busybox\nCOPY . /app\nRUN cat /app/b.txt > /b\nCMD ["sh"]\n')
    changed = sampan("--explain", "build", "-t", "x", str(ctx))
    run = texts(changed.err, "build cache")[1]
    assert "the instruction changed (last time here: [3/3] RUN cat /app/a.txt > /b)" in run


def test_exec_explains_what_it_joins(sampan):
    sampan.ok("run", "-d", "--name", "box", "busybox", "sleep", "60")
    pid = json.loads(sampan.ok("inspect", "box"))[0]["State"]["Pid"]
    r = sampan("--explain", "exec", "box", "true")
    assert r.rc == 0, r.err
    joins, started = texts(r.err, "exec")
    assert f"(host pid {pid})" in joins and "mnt" in joins and "net" in joins
    spawned = int(re.search(r"as host pid (\d+)", started).group(1))
    assert spawned != pid


def test_network_connect_explains_the_new_interface(sampan):
    net = f"ex{os.getpid() % 100000}"
    sampan.ok("network", "create", net)
    sampan.ok("run", "-d", "--name", "box", "busybox", "sleep", "60")
    r = sampan("--explain", "network", "connect", net, "box")
    assert r.rc == 0, r.err
    ip = re.match(r"(\d+\.\d+\.\d+\.\d+)/\d+ on network " + net, texts(r.err, "address")[0]).group(1)
    assert "eth1 inside the container" in texts(r.err, "veth")[0]
    assert f" {ip}/" in sampan.ok("exec", "box", "ip", "-4", "-o", "addr", "show", "eth1")


@pytest.fixture
def zsampan(sampan):
    z = Sampan(sampan.root, sampan.runroot, zygote=True)
    yield z
    from tests.support.leaks import processes_with
    deadline = time.monotonic() + 10
    while processes_with(f"sampan.cli.zygote {sampan.runroot}") and time.monotonic() < deadline:
        z("system", "zygote", "stop")
        time.sleep(0.2)


def test_explain_through_the_zygote(zsampan):
    zsampan.ok("run", "--rm", "busybox", "true")  # in-process; starts a zygote
    deadline = time.monotonic() + 20
    while not (zsampan.runroot / "zygote.sock").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    r = zsampan("--explain", "run", "--rm", "busybox", "echo", "hi")
    assert r.rc == 0 and r.out == "hi\n"
    names = [s for s, _ in steps(r.err)]
    assert {"image", "overlay", "cgroup", "namespaces", "pivot_root", "exec", "exit", "removed"} <= set(names)


def test_pull_says_which_layers_it_downloaded_and_which_it_had(sampan, tmp_path):
    from tests.unit.registry.registry_server import RegistryServer

    srv = RegistryServer(tmp_path / "registry").start()
    try:
        sampan.ok("push", "busybox", f"{srv.host}/bb:1")
        sampan.ok("push", "busybox", f"{srv.host}/bb:2")
        fresh = Sampan(tmp_path / "root", tmp_path / "run")  # no mounts or networks: tmp_path will do
        first = fresh("--explain", "pull", f"{srv.host}/bb:1")
        assert first.rc == 0, first.err
        assert texts(first.err, "pull")[0].startswith(f"{srv.host}/bb:1 is manifest sha256:")
        (layer,) = texts(first.err, "layer")
        digest = re.match(r"(sha256:[0-9a-f]{64}) ", layer).group(1)
        assert "not in the store: downloaded" in layer
        assert (tmp_path / "root" / "blobs" / "sha256" / digest.split(":")[1]).is_file()
        again = fresh("--explain", "pull", f"{srv.host}/bb:2")
        assert again.rc == 0, again.err
        assert texts(again.err, "layer") == [texts(again.err, "layer")[0]]
        assert texts(again.err, "layer")[0].startswith(f"{digest} ") and "already in the store" in texts(again.err, "layer")[0]
    finally:
        srv.stop()
        srv.wipe()


def test_create_and_start_each_explain_their_part(sampan):
    made = sampan("--explain", "create", "--name", "later", "--network", "none", "busybox", "sleep", "60")
    assert made.rc == 0, made.err
    names = {s for s, _ in steps(made.err)}
    assert {"image", "layer"} <= names and not names & {"overlay", "namespaces", "exec"}
    started = sampan("--explain", "start", "later")
    assert started.rc == 0, started.err
    names = [s for s, _ in steps(started.err)]
    assert {"overlay", "cgroup", "namespaces", "pivot_root", "exec"} <= set(names) and "network" not in names
    pid = json.loads(sampan.ok("inspect", "later"))[0]["State"]["Pid"]
    assert any(f"host pid {pid}," in t for t in texts(started.err, "cgroup"))
