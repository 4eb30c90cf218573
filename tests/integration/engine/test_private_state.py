"""sampan's state is root's alone: the database, a container's config.json (its -e
environment), its logs and sockets; a non-root user is told sampan needs root.

Attacked as a local user would: as `nobody`, read every file under the root and the
run root, list every directory, and ask `sampan inspect` for the token.
"""

import json
import os
import stat
import subprocess

from tests.support.cli import SAMPAN
from tests.support.forked import in_child

TOKEN = "API_TOKEN=tok-5f1d9a77c3e2"
NOBODY = 65534
# The container's own view keeps the image's modes (and its /etc files are 0644 so its
# non-root users can read them): they sit below private dirs, which keep host users out.
CONTAINER_OWNED = {"rootfs", "upper", "work", "init", "diff", "_data", "hosts", "hostname",
                   "resolv.conf"}


def _own_paths(top):
    """Every path under top that is sampan's own (not the container's view), and the
    netns pins (the kernel's nsfs inodes are 0444 whatever we do)."""
    out = []
    for dirpath, dirnames, filenames in os.walk(top):
        for name in list(dirnames):
            p = os.path.join(dirpath, name)
            if name in CONTAINER_OWNED:
                dirnames.remove(name)
            else:
                out.append(p)
        for name in filenames:
            if name in CONTAINER_OWNED or os.path.basename(dirpath) == "netns":
                continue
            out.append(os.path.join(dirpath, name))
    return out


def _open_modes(paths):
    bad = []
    for p in paths:
        st = os.lstat(p)
        if not stat.S_ISLNK(st.st_mode) and stat.S_IMODE(st.st_mode) & 0o077:
            bad.append(f"{stat.S_IMODE(st.st_mode):o} {p}")
    return bad


def _as_nobody(fn):
    def child() -> bytes:
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)
        return json.dumps(fn()).encode()
    return json.loads(in_child(child))


def _readable_by_nobody(paths):
    def attempt():
        got = []
        for p in paths:
            try:
                if os.path.isdir(p):
                    os.listdir(p)
                else:
                    os.close(os.open(p, os.O_RDONLY | os.O_NONBLOCK))
                got.append(p)
            except OSError:
                pass
        return got
    return _as_nobody(attempt)


def _as_nobody_cli(sampan, *args):
    return subprocess.run(sampan.argv(*args), capture_output=True, text=True, timeout=60,
                          env=sampan.env(), user=NOBODY, group=NOBODY, extra_groups=[],
                          stdin=subprocess.DEVNULL)


def _make_state(sampan):
    sampan.ok("run", "-d", "--name", "secret", "-e", TOKEN, "-v", "vol1:/data", "busybox",
              "sh", "-c", "echo $API_TOKEN; sleep 60")
    sampan.ok("run", "--name", "done", "-e", TOKEN, "busybox", "sh", "-c", "echo $API_TOKEN")
    assert TOKEN.split("=")[1] in sampan.ok("logs", "secret")


def test_nobody_reads_nothing_of_the_state(sampan):
    base = sampan.root.parent
    os.chmod(base, 0o755)  # the test's own temp dir: let nobody walk up to the root
    _make_state(sampan)
    assert stat.S_IMODE(os.stat(sampan.root).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(sampan.runroot).st_mode) == 0o700
    paths = [str(sampan.root), str(sampan.runroot)]
    paths += _own_paths(sampan.root) + _own_paths(sampan.runroot)
    names = {os.path.basename(p) for p in paths}
    # what the attack is about is really there: the database, bundles, logs, sockets
    assert {"sampan.db", "config.json", "monitor.log", "index.json"} <= names
    assert any(n.endswith("-json.log") for n in names) and any(n.endswith(".sock") for n in names)
    assert _open_modes(paths) == []
    # every file, including the container-owned ones, is out of nobody's reach
    every = [os.path.join(d, n) for top in (sampan.root, sampan.runroot)
             for d, ds, fs in os.walk(top) for n in ds + fs]
    assert _readable_by_nobody(every + [str(sampan.root), str(sampan.runroot)]) == []
    r = _as_nobody_cli(sampan, "inspect", "secret")
    assert r.returncode == 125 and "tok-" not in r.stdout + r.stderr
    assert "needs root" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_non_root_users_in_containers_still_work(sampan):
    out = sampan.ok("run", "--rm", "-u", "1000:1000", "-v", "vol2:/data", "busybox", "sh", "-c",
                    "stat -c '%a' / /etc/hosts /etc/resolv.conf /data; head -1 /etc/hosts; "
                    "cat /etc/hostname >/dev/null && echo hostname-ok; "
                    "echo x > /tmp/f && cat /tmp/f; ls /data >/dev/null && echo vol-ok; id -u")
    lines = out.split()
    assert lines[:4] == ["755", "644", "644", "755"], out
    assert "localhost" in out and "hostname-ok" in out and "vol-ok" in out
    assert lines[-3:] == ["x", "vol-ok", "1000"], out


def test_an_old_root_is_made_private_when_opened(sampan):
    _make_state(sampan)
    sampan.ok("rm", "-f", "secret")
    sampan.ok("run", "-d", "--name", "secret", "-e", TOKEN, "busybox", "sleep", "60")
    # what an older sampan left: 0755 dirs, 0644 files, no marker
    for top in (sampan.root, sampan.runroot):
        for path in [str(top)] + _own_paths(top):
            st = os.lstat(path)
            if stat.S_ISDIR(st.st_mode):
                os.chmod(path, 0o755)
            elif stat.S_ISREG(st.st_mode):
                os.chmod(path, 0o644)
    (sampan.root / ".modes-v1").unlink()
    assert _open_modes(_own_paths(sampan.root))
    sampan.ok("ps")
    assert (sampan.root / ".modes-v1").exists()
    assert stat.S_IMODE(os.stat(sampan.root).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(sampan.runroot).st_mode) == 0o700
    paths = _own_paths(sampan.root) + _own_paths(sampan.runroot)
    bad = _open_modes(paths)
    assert bad == [], bad
    # the container's own tree kept its modes: its root is still 0755 for -u 1000
    out = sampan.ok("exec", "-u", "1000", "secret", "sh", "-c", "stat -c %a /; cat /etc/hosts >/dev/null && echo ok")
    assert out.split() == ["755", "ok"]


def test_non_root_user_is_told_sampan_needs_root(sampan):
    os.chmod(sampan.root.parent, 0o755)
    for args in (["ps"], ["images"], ["run", "--rm", "busybox", "true"], ["inspect", "busybox"],
                 ["logs", "x"], ["rm", "-f", "x"], ["volume", "ls"], ["system", "df"]):
        r = _as_nobody_cli(sampan, *args)
        assert r.returncode == 125, (args, r.stderr)
        assert r.stderr.startswith("sampan: permission denied: sampan needs root"), (args, r.stderr)
        assert len(r.stderr.splitlines()) == 1 and "Traceback" not in r.stderr
    # the default root too, where the state does not even exist for nobody
    r = subprocess.run(SAMPAN + ["ps"], capture_output=True, text=True, timeout=60,
                       user=NOBODY, group=NOBODY, extra_groups=[], stdin=subprocess.DEVNULL)
    assert r.returncode == 125 and "needs root" in r.stderr and "Traceback" not in r.stderr
    for args in (["--help"], ["run", "--help"], ["ps", "--help"], ["images", "--help"]):
        r = _as_nobody_cli(sampan, *args)
        assert r.returncode == 0 and "sage" in r.stdout, (args, r.stderr)
