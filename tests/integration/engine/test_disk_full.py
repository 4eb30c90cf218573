"""A full disk: every command says "no space left on device" and names the path, in one line
and exit 125; a start that fails on it releases its network sandbox; nothing that existed is
lost, and `system check` finds nothing wrong afterwards. The state root is a small tmpfs,
filled by the test."""

from __future__ import annotations

import errno
import os
import re
import sqlite3
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

from tests.integration.engine.conftest import _network_teardown, settle, spare_veths
from tests.integration.network.conftest import bridge_ports
from tests.support import leaks
from tests.support.cli import Sampan

FILL = "fill.bin"


class SmallRoot:
    def __init__(self, root: Path, runroot: Path):
        self.root, self.runroot = root, runroot
        self.s = Sampan(root, runroot)

    def fill(self, free: int) -> None:
        """Leave about `free` bytes free on the root's filesystem (at most that: a container
        of the test may be logging meanwhile, so the space measured can shrink before the
        fill is written; the fill then stops where the disk is full and gives `free` back)."""
        self.unfill()
        st = os.statvfs(self.root)
        n = st.f_bfree * st.f_frsize - free
        if n <= 0:
            return
        fd = os.open(self.root / FILL, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            written, chunk = 0, b"\0" * (1 << 20)
            while written < n:
                try:
                    written += os.write(fd, chunk[:n - written])
                except OSError as e:
                    if e.errno != errno.ENOSPC:
                        raise
                    os.ftruncate(fd, max(0, written - free))
                    break
        finally:
            os.close(fd)

    def unfill(self) -> None:
        (self.root / FILL).unlink(missing_ok=True)

    def db_rows(self, sql: str) -> list:
        conn = sqlite3.connect(self.root / "sampan.db")
        try:
            return conn.execute(sql).fetchall()
        except sqlite3.OperationalError:  # no such table: no network was ever made
            return []
        finally:
            conn.close()

    def network_leftovers(self, keep: set[str] = frozenset()) -> dict:
        """What the root's bridge network holds besides spare sandboxes and those of `keep`."""
        settle(self.s)
        bridges = [b for (b,) in self.db_rows("SELECT bridge FROM net_networks")]
        kept = {veth for cid, veth in self.db_rows("SELECT cid, host_veth FROM net_attachments")
                if cid in keep}
        ports = set().union(set(), *(bridge_ports(b) for b in bridges)) - spare_veths(self.s) - kept
        netns = set(os.listdir(self.runroot / "netns")) if (self.runroot / "netns").exists() else set()
        found = {
            "bridge ports": sorted(ports),
            "netns": sorted(n for n in netns if not n.startswith("spare") and n not in keep),
            "attachments": [r for r in self.db_rows("SELECT cid, state FROM net_attachments")
                            if r[1] != "spare" and r[0] not in keep],
        }
        return {k: v for k, v in found.items() if v}


@pytest.fixture
def small(state_dirs, busybox_tar, tmp_path):
    root, runroot = state_dirs
    root.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m,mode=0700", "tmpfs", str(root)], check=True)
    sr = SmallRoot(root, runroot)
    try:
        sr.s.ok("import", "--change", 'CMD ["sh"]', str(busybox_tar), "busybox")
        yield sr
    finally:
        sr.unfill()
        try:
            sr.s.cleanup()
            _network_teardown(root, runroot)
        finally:
            deadline = time.monotonic() + 10
            while subprocess.run(["umount", str(root)]).returncode and time.monotonic() < deadline:
                time.sleep(0.2)  # a monitor may still be finishing its cleanup


# (`start` names the container first, as for any of the containers it was given)
NO_SPACE = re.compile(r"^sampan: (?:[0-9a-f]{64}: )?no space left on device: (/\S+)( \(.*\))?\n$")


def _says_no_space(r, root: Path) -> None:
    assert r.rc == 125, (r.rc, r.err)
    *progress, last = r.err.splitlines(keepends=True)
    m = NO_SPACE.match(last)
    assert m, r.err  # one line, no traceback, no "internal error"
    assert m.group(1).startswith(str(root)), r.err  # names the full filesystem's path
    assert not [line for line in progress if line.startswith("sampan:") or "Traceback" in line], r.err


def _random_tar(path: Path, size: int) -> Path:
    data = path.with_suffix(".bin")
    data.write_bytes(os.urandom(size))
    with tarfile.open(path, "w") as tar:
        tar.add(data, "big.bin")
    return path


@pytest.mark.parametrize("free", [0, 48 * 1024])
def test_commands_on_a_full_disk_say_so_and_lose_nothing(small, tmp_path, registry_with_big_image, free):
    s = small.s
    s.ok("run", "-d", "--name", "keep", "--network", "none", "busybox", "sh", "-c",
         "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.05; done")
    from tests.integration.engine.test_c_monitor import _monitor
    from tests.support.polling import poll
    assert poll(lambda: _monitor(s, "keep") == "c")  # the C monitor's full-disk handling, then
    s.ok("create", "--name", "made", "busybox", "true")
    s.ok("save", "-o", str(tmp_path / "busybox.tar"), "busybox")
    images_before = s.ok("images", "-q", "--no-trunc")
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "big.bin").write_bytes(os.urandom(400_000))
    (ctx / "Dockerfile").write_text("FROM busybox\nCOPY big.bin /big.bin\n")
    big_tar = _random_tar(tmp_path / "big.tar", 4_000_000)
    commands = {
        "run": ["run", "--rm", "--network", "none", "busybox", "true"],
        "run -d -p": ["run", "-d", "-p", "80", "busybox", "sleep", "100"],
        "create": ["create", "busybox", "true"],
        "build": ["build", "-q", "--network=none", "-t", "built:1", str(ctx)],
        "import": ["import", str(big_tar), "big:1"],
        "load": ["load", "-i", str(tmp_path / "busybox.tar")],
        "pull": ["pull", registry_with_big_image],
    }
    for name, argv in commands.items():
        small.fill(free)
        try:
            _says_no_space(s(*argv, timeout=120), small.root)
        finally:
            small.unfill()
        assert small.network_leftovers(keep={s.ok("inspect", "-f", "{{.Id}}", "keep").strip()}) == {}, name
    # nothing lost, nothing half made
    assert s.ok("images", "-q", "--no-trunc") == images_before
    assert sorted(s.ok("ps", "-a", "--format", "{{.Names}}").split()) == ["keep", "made"]
    assert s.ok("inspect", "-f", "{{.State.Status}}", "keep").strip() == "running"  # its monitor lived
    time.sleep(0.3)
    ticks, notes = [], []
    logs = s("logs", "keep")
    for line in (logs.out + logs.err).splitlines():  # the note is on stderr
        (ticks.append(int(line.split()[1])) if line.startswith("tick ") else notes.append(line))
    assert ticks[0] == 0 and len(ticks) > 10
    if ticks != list(range(len(ticks))):  # output the full disk kept out: the log says so
        assert notes and all("bytes of output were not logged: the disk was full" in n for n in notes)
    assert os.listdir(small.root / "tmp") == []
    check = s("system", "check")
    assert (check.rc, check.out.splitlines()[1:]) == (0, [f"no problems found in {small.root}"])  # after the cgroups line
    assert s.ok("run", "--rm", "--network", "none", "busybox", "echo", "fine") == "fine\n"


def test_failed_start_on_a_full_disk_releases_its_network(small):
    """A start that runs out of space at any point (records, /etc files, bundle, network
    records) says so and leaves no veth, netns, rule or record of its sandbox."""
    s = small.s
    outcomes = set()
    for free in range(0, 112 * 1024, 8 * 1024):
        cid = s.ok("create", "-p", "80", "busybox", "sleep", "100").strip()
        small.fill(free)
        try:
            r = s("start", cid, timeout=60)
        finally:
            small.unfill()
        if r.rc != 0:
            _says_no_space(r, small.root)
            assert s.ok("inspect", "-f", "{{.State.Status}}", cid).strip() == "created"
            assert leaks.mounts_under(str(small.root / "containers" / cid)) == []
        outcomes.add(r.rc)
        keep = {cid} if r.rc == 0 else set()
        left = small.network_leftovers(keep)
        # the host's side goes first; a database too full to delete the records keeps them
        # until the container's next start, its rm, or `system prune`
        left.pop("attachments", None)
        assert left == {}, free
        rules = subprocess.run(["iptables-save"], capture_output=True, text=True).stdout
        assert r.rc == 0 or cid not in rules
        s.ok("rm", "-f", cid)
        assert small.network_leftovers() == {}, free
    assert outcomes == {0, 125}  # some levels failed and the larger ones worked


@pytest.fixture
def registry_with_big_image(tmp_path):
    """A local registry holding an image too big for the small root."""
    from tests.unit.registry.registry_server import RegistryServer

    srv = RegistryServer(tmp_path / "registry").start()
    try:
        other = Sampan(tmp_path / "other-root", tmp_path / "other-run")
        other.ok("import", str(_random_tar(tmp_path / "pushed.tar", 4_000_000)), "pushed:1")
        ref = f"{srv.host}/sampan/big:1"
        other.ok("push", "pushed:1", ref)
        yield ref
    finally:
        srv.stop()
        srv.wipe()
