"""The symlink-exchange race (CVE-2018-15664) against every command that reads or
writes a running container's tree: export, commit, diff, cp out and cp in.

Inside a real container a static flipper swaps /w/d (a directory) with /w/s (a
symlink to a host directory) and /w/f1 (a file) with /w/l1 (a symlink to a host
file), with renameat2(RENAME_EXCHANGE), in a tight loop, while the engine runs
the command many times. From outside we check that no byte of the host directory
reached any output, that the host directory is unchanged (content, mode, owner,
inode, listing), and that every run either succeeded or failed with a clean
SampanError (one line at the CLI), never an internal error.

The engine is driven in-process to afford many rounds; one CLI run per verb
checks the user-facing side. SAMPAN_RACE_ROUNDS raises the rounds.
"""

from __future__ import annotations

import gzip
import io
import os
import tarfile
import time

import pytest

from sampan.engine import Engine
from sampan.errors import SampanError
from sampan.state import inroot
from tests.support.flipper import HostSecret, build_flip, image_tar

ROUNDS = int(os.environ.get("SAMPAN_RACE_ROUNDS", "20"))


@pytest.fixture
def attack(sampan, busybox_tar, tmp_path):
    flip = build_flip(tmp_path)
    img = image_tar(busybox_tar, flip, tmp_path / "flipper.tar")
    sampan.ok("import", "--change", 'CMD ["sh"]', str(img), "flipper")
    secret = HostSecret(tmp_path)
    script = (f"mkdir -p /w/d && echo inside > /w/d/f && echo inside > /w/d/secret && "
              f"ln -s {secret.dir} /w/s && echo inside > /w/f1 && ln -s {secret.file} /w/l1 && "
              "exec /flip /w/d /w/s /w/f1 /w/l1")
    sampan.ok("run", "-d", "--name", "attacker", "--network", "none", "flipper", "sh", "-c", script)
    engine = Engine(str(sampan.root), str(sampan.runroot))
    deadline = time.monotonic() + 20
    while not {"/w/s", "/w/l1"} <= {p for _, p in engine.diff("attacker")}:
        assert time.monotonic() < deadline, "the flipper did not start"
        time.sleep(0.05)
    try:
        yield engine, secret, sampan
        # the flipper was swapping all along (else the test proved nothing)
        top = engine.top("attacker")
        assert any("/flip" in row["CMD"] for row in top), top
    finally:
        engine.ctx.db.close()
        secret.assert_untouched()


@pytest.fixture(params=["openat2", "walk"])
def resolver(request):
    """cp resolves container paths with openat2, or with the O_NOFOLLOW walk that
    stands in for it on kernels before 5.6: both must hold."""
    inroot.use_fallback(request.param == "walk")
    yield request.param
    inroot.use_fallback(False)


def survive(fn, *args, **kw):
    """A race may make one copy fail cleanly (the path it named was a symlink leading
    nowhere inside the container at that instant): a SampanError. Anything else is
    an internal error and fails the test."""
    try:
        fn(*args, **kw)
        return None
    except SampanError as e:
        assert "\n" not in e.message
        return e


def tar_bytes(data: bytes) -> list[str]:
    return tarfile.open(fileobj=io.BytesIO(data)).getnames()


def test_export_never_reads_through_a_swapped_symlink(attack):
    engine, secret, sampan = attack
    for _ in range(ROUNDS):
        buf = io.BytesIO()
        engine.export("attacker", buf)  # the tree only changes shape: never an error
        assert not secret.leaked_in(buf.getvalue())
        names = tar_bytes(buf.getvalue())
        assert "w/s" in names and "w/l1" in names and "bin/busybox" in names
    r = sampan("export", "-o", str(secret.dir.parent / "out.tar"), "attacker")
    assert r.rc == 0, r.err
    assert not secret.leaked_in((secret.dir.parent / "out.tar").read_bytes())


def test_diff_never_lists_the_hosts_names(attack):
    engine, secret, sampan = attack
    for _ in range(ROUNDS * 25):
        paths = [p for _, p in engine.diff("attacker")]
        assert not any(secret.leaked_in(p) for p in paths)
        assert "/w/d" in paths and "/w/s" in paths
    r = sampan("diff", "attacker")
    assert r.rc == 0 and not secret.leaked_in(r.out), r.err


def _blobs(root) -> bytes:
    out = []
    for p in (root / "blobs" / "sha256").iterdir():
        data = p.read_bytes()
        out.append(gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data)
    return b"".join(out)


def test_commit_never_takes_the_hosts_files_into_a_layer(attack):
    engine, secret, sampan = attack
    for i in range(max(ROUNDS // 2, 5)):
        engine.commit("attacker", f"snap:{i}", [], None, None)
    r = sampan("commit", "attacker", "snap:cli")
    assert r.rc == 0, r.err
    assert not secret.leaked_in(_blobs(sampan.root))
    # the layers hold the container's own tree (as it was at each instant)
    assert b"inside" in _blobs(sampan.root)


def test_cp_out_never_copies_the_hosts_files(attack, resolver, tmp_path):
    engine, secret, sampan = attack
    out = tmp_path / "out"
    out.mkdir()
    for i in range(ROUNDS):
        buf = io.BytesIO()
        engine.copy_from_container("attacker", "/w", buf)
        assert not secret.leaked_in(buf.getvalue())
        survive(engine.copy_from_container, "attacker", "/w/d", str(out / f"d{i}"))
        survive(engine.copy_from_container, "attacker", "/w/d/", str(out / f"dslash{i}"))
        survive(engine.copy_from_container, "attacker", "/w/d/secret", str(out / f"s{i}"))
        survive(engine.copy_from_container, "attacker", "/w/l1", str(out / f"l{i}"), follow_link=True)
        survive(engine.copy_from_container, "attacker", "/w/", str(out / f"w{i}"), follow_link=True)
    assert secret.leaked_in_tree(out) == []
    assert any((out / f"s{i}").exists() for i in range(ROUNDS))  # the copies did happen
    r = sampan("cp", "attacker:/w/d/secret", str(out / "cli"))
    assert r.rc in (0, 1) and "internal error" not in r.err and "Traceback" not in r.err
    assert secret.leaked_in_tree(out) == []


def test_cp_in_never_writes_the_hosts_files(attack, resolver, tmp_path):
    engine, secret, sampan = attack
    src = tmp_path / "src"
    src.mkdir()
    (src / "secret").write_text("written by cp\n")
    (src / "sub").mkdir()
    (src / "sub" / "secret").write_text("written by cp\n")
    stream = io.BytesIO()
    with tarfile.open(fileobj=stream, mode="w") as tar:
        tar.add(src / "secret", arcname="secret")
        tar.add(src / "sub", arcname="sub")
    for _ in range(ROUNDS):
        survive(engine.copy_to_container, "attacker", str(src / "secret"), "/w/d/")
        survive(engine.copy_to_container, "attacker", str(src / "secret"), "/w/d/secret")
        survive(engine.copy_to_container, "attacker", str(src / "sub"), "/w/d/")
        survive(engine.copy_to_container, "attacker", str(src) + "/.", "/w/s/")
        survive(engine.copy_to_container, "attacker", io.BytesIO(stream.getvalue()), "/w/d")
        secret.assert_untouched()
    # last, and once: replacing the file-or-symlink pair ends the flipper's second pair
    survive(engine.copy_to_container, "attacker", str(src / "secret"), "/w/l1")
    r = sampan("cp", str(src / "secret"), "attacker:/w/d/")
    assert r.rc in (0, 1) and "internal error" not in r.err and "Traceback" not in r.err
    secret.assert_untouched()
    # the copies landed inside the container. The flipper still runs, so one read may
    # meet both names as symlinks (each read at another instant): read until the real
    # directory is caught under either name.
    for _ in range(200):
        got = io.BytesIO()
        engine.copy_from_container("attacker", "/w", got)
        names = tar_bytes(got.getvalue())
        if "w/d/secret" in names or "w/s/secret" in names:
            break
    assert "w/d/secret" in names or "w/s/secret" in names, names
