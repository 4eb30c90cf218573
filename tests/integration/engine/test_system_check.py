"""`sampan system check`: damage a root the way a crash or a disk would, and check that
each damage is reported in one line with the right exit code, and that the check itself
changed nothing on disk."""

import os
import shutil
import time

import pytest

from sampan.oci.digest import digest_hex
from sampan.state.db import Database
from sampan.state.paths import Paths
from sampan.store import ImageStore
from tests.support.cli import Sampan
from tests.support.leaks import processes_with


def _paths(sampan) -> Paths:
    return Paths(sampan.root, sampan.runroot)


def _image(sampan):
    """The busybox image as the store records it (read in this process, then closed)."""
    db = Database(_paths(sampan).db)
    try:
        return ImageStore(_paths(sampan), db).resolve("busybox")
    finally:
        db.close()


def _snapshot(*dirs) -> dict:
    """Everything a check could change: each entry's kind, mode, size and mtime (but
    SQLite's -shm, whose read marks every reader updates, only by its size)."""
    snap = {}
    for top in dirs:
        for dirpath, dirnames, filenames in os.walk(top):
            for n in dirnames + filenames:
                p = os.path.join(dirpath, n)
                st = os.lstat(p)
                snap[p] = (st.st_mode, st.st_size, 0 if n.endswith("-shm") else st.st_mtime_ns)
    return snap


def _quiesce(sampan) -> None:
    """Wait until no sampan process of this root runs (a monitor finishes its cleanup
    after its client returned), so that any change seen is the check's own."""
    deadline = time.monotonic() + 10
    while processes_with(str(sampan.root)) and time.monotonic() < deadline:
        time.sleep(0.05)


def _check(sampan):
    """Run the check; return (rc, finding lines, summary line), asserting it changed nothing."""
    _quiesce(sampan)
    before = _snapshot(sampan.root, sampan.runroot)
    r = sampan("system", "check")
    assert _snapshot(sampan.root, sampan.runroot) == before, "system check changed the root"
    assert "Traceback" not in r.err and "internal error" not in r.err, r.err
    lines = r.out.splitlines()
    assert lines, r
    # first the host's cgroup hierarchy, as the runtime sees it
    v2 = os.path.exists("/sys/fs/cgroup/cgroup.controllers")
    assert lines[0].startswith("cgroups: v2 (unified)" if v2 else "cgroups: v1 ("), lines[0]
    lines = lines[1:]
    findings = [l for l in lines[:-1] if l.startswith(("problem:", "note:"))]
    assert findings == lines[:-1], r.out  # nothing but findings, then the summary
    return r.rc, findings, lines[-1]


@pytest.fixture
def used(sampan):
    """A root with busybox and an exited container whose layer is unpacked."""
    name = "chk-" + os.urandom(4).hex()
    sampan.ok("run", "--network", "none", "--name", name, "busybox", "true")
    cid = sampan.ok("ps", "-aq", "--no-trunc").split()[0]
    return name, cid


def test_fresh_root_has_no_problems(sampan, used):
    sampan.ok("volume", "create", "v" + os.urandom(4).hex())
    rc, findings, summary = _check(sampan)
    assert (rc, findings) == (0, []), findings
    assert summary == f"no problems found in {sampan.root}"
    assert "check" in sampan.ok("system", "--help")


def _truncate_layer_blob(sampan, name, cid):
    layer = _image(sampan).layers[0]
    path = _paths(sampan).blobs / digest_hex(layer.digest)
    os.truncate(path, layer.size // 2)
    return path, layer.size // 2


def _delete_manifest_blob(sampan, name, cid):
    (_paths(sampan).blobs / digest_hex(_image(sampan).manifest_digest)).unlink()


def _remove_container_dir(sampan, name, cid):
    shutil.rmtree(_paths(sampan).container_dir(cid))


def _orphan_container_dir(sampan, name, cid):
    d = _paths(sampan).container_dir(os.urandom(32).hex())
    (d / "upper").mkdir(parents=True)


def _remove_completion_marker(sampan, name, cid):
    chain = _image(sampan).chain_ids[0]
    (_paths(sampan).layers / digest_hex(chain) / "complete").unlink()


def _drop_temp_file(sampan, name, cid):
    (_paths(sampan).tmp / ("blob-" + os.urandom(8).hex())).write_bytes(b"half a blob")


def _remove_volume_data(sampan, name, cid):
    vol = "v" + os.urandom(4).hex()
    sampan.ok("volume", "create", vol)
    shutil.rmtree(_paths(sampan).volumes / vol / "_data")


def _orphan_volume_dir(sampan, name, cid):
    (_paths(sampan).volumes / ("gone" + os.urandom(4).hex()) / "_data").mkdir(parents=True)


def _corrupt_index_json(sampan, name, cid):
    _paths(sampan).index_json.write_bytes(b'{"schemaVersion":2,"manif')


def _config_blob_made_a_directory(sampan, name, cid):
    path = _paths(sampan).blobs / digest_hex(_image(sampan).id)
    path.unlink()
    path.mkdir()


# damage, expected kind of its one finding, words the finding must contain
DAMAGES = [
    (_truncate_layer_blob, "problem", ["does not match its digest", "image busybox:latest",
                                       "sampan rmi -f "]),
    (_delete_manifest_blob, "problem", ["missing its manifest blob", "busybox:latest"]),
    (_remove_container_dir, "problem", ["has lost its directory", "sampan rm -f"]),
    (_orphan_container_dir, "note", ["belongs to no container", "rm -r"]),
    (_remove_completion_marker, "note", ["half unpacked", "unpacked again"]),
    (_drop_temp_file, "note", ["leftover temp file", "blob-"]),
    (_remove_volume_data, "problem", ["lost its data directory", "mkdir -p"]),
    (_orphan_volume_dir, "note", ["belongs to no volume", "gone"]),
    (_config_blob_made_a_directory, "problem", ["cannot be read", "rmi -f"]),
    (_corrupt_index_json, "problem", ["index.json is not valid JSON", "sampan tag"]),
]


@pytest.mark.parametrize("damage,kind,words", DAMAGES, ids=[d[0].__name__[1:] for d in DAMAGES])
def test_each_damage_is_one_line_with_the_right_exit_code(sampan, used, damage, kind, words):
    kept = damage(sampan, *used)
    rc, findings, summary = _check(sampan)
    assert len(findings) == 1, findings
    assert findings[0].startswith(f"{kind}:"), findings
    for w in words:
        assert w in findings[0], (w, findings[0])
    if kind == "problem":
        assert rc == 1 and summary == f"1 problem found in {sampan.root}"
    else:
        assert rc == 0 and summary == f"no problems found in {sampan.root} (1 note)"
    if damage is _truncate_layer_blob:
        path, size = kept
        assert path.stat().st_size == size  # reported, not deleted or repaired
    if damage is _corrupt_index_json:  # the advice works
        sampan.ok("tag", "busybox:latest", "busybox:latest")
        assert _check(sampan)[:2] == (0, [])
    if damage is _remove_container_dir:
        assert used[0] in findings[0] and used[1][:12] in findings[0]
        # the advice works: rm -f clears the record, and the root is clean again
        sampan.ok("rm", "-f", used[0])
        assert _check(sampan)[0] == 0


def test_several_damages_are_counted(sampan, used):
    _truncate_layer_blob(sampan, *used)
    _remove_container_dir(sampan, *used)
    _drop_temp_file(sampan, *used)
    rc, findings, summary = _check(sampan)
    assert rc == 1 and len(findings) == 3, findings
    assert summary == f"2 problems found in {sampan.root} (1 note)"


def test_missing_root_is_a_problem_and_is_not_created(state_dirs):
    root, runroot = state_dirs
    s = Sampan(root / "nowhere", runroot)
    r = s("system", "check")
    assert r.rc == 1 and "does not exist" in r.out and "Traceback" not in r.err, r
    assert not (root / "nowhere").exists() and not runroot.exists()


def test_damaged_database_is_reported_without_a_traceback(state_dirs, busybox_tar):
    root, runroot = state_dirs
    s = Sampan(root, runroot)
    s.ok("import", str(busybox_tar), "busybox")
    db = Paths(root, runroot).db
    for extra in ("-wal", "-shm"):
        db.with_name(db.name + extra).unlink(missing_ok=True)
    db.write_bytes(b"this is not a database" * 200)
    r = s("system", "check")
    assert r.rc == 1 and len(r.out.splitlines()) == 3, r  # the cgroups line, one finding, the summary
    assert "Traceback" not in r.err and "internal error" not in r.err, r.err
    assert f"{db} cannot be read" in r.out or f"{db} is damaged" in r.out, r.out
    assert db.read_bytes() == b"this is not a database" * 200


def test_following_the_advice_for_a_corrupt_blob_repairs_the_root(sampan, used, busybox_tar):
    short_id = _image(sampan).id[7:19]
    _truncate_layer_blob(sampan, *used)
    rc, [finding], _ = _check(sampan)
    assert rc == 1 and f"sampan rmi -f {short_id}" in finding
    sampan.ok("rm", "-f", used[0])
    sampan.ok("rmi", "-f", short_id)
    sampan.ok("import", str(busybox_tar), "busybox")
    sampan.ok("run", "--rm", "--network", "none", "busybox", "true")
    assert _check(sampan)[:2] == (0, [])


def test_missing_database_is_a_problem(state_dirs, busybox_tar):
    root, runroot = state_dirs
    s = Sampan(root, runroot)
    s.ok("import", str(busybox_tar), "busybox")
    db = Paths(root, runroot).db
    for name in (db.name, db.name + "-wal", db.name + "-shm"):
        db.with_name(name).unlink(missing_ok=True)
    r = s("system", "check")
    assert r.rc == 1 and f"problem: {db} is missing" in r.out, r
    assert not db.exists()


def test_running_container_is_not_a_problem(sampan):
    name = "run-" + os.urandom(4).hex()
    sampan.ok("run", "-d", "--network", "none", "--name", name, "busybox", "sleep", "60")
    try:
        r = sampan("system", "check")  # no _check: the running container's log may grow
        assert r.rc == 0 and r.out.splitlines()[1:] == [f"no problems found in {sampan.root}"], r
    finally:
        sampan.ok("rm", "-f", name)


def test_container_whose_image_record_is_gone(sampan, used):
    import sqlite3
    conn = sqlite3.connect(_paths(sampan).db)
    with conn:
        conn.execute("DELETE FROM tags")
        conn.execute("DELETE FROM images")
    conn.close()
    rc, findings, _ = _check(sampan)
    assert rc == 1
    mine = [f for f in findings if f"container {used[0]} " in f]
    assert len(mine) == 1 and "no longer in the store" in mine[0], findings
    assert any("index.json is stale" in f for f in findings), findings
