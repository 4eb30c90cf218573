"""Bad input from a user or a stranger's archive: one line on stderr, exit 125, nothing
half-made, no traceback."""

import gzip
import os
import random

import pytest

from tests.unit.archive.test_hostile import legacy_archive
from tests.unit.archive.test_hostile_layers import HOSTILE, oci_archive
from tests.unit.store.tarmaker import entry, make_tar

HUGE = "9" * 5000


def _one_line_125(r):
    assert r.rc == 125, r.err
    assert len(r.err.strip().splitlines()) <= 2 and "Traceback" not in r.err
    assert "internal error" not in r.err
    return r.err


@pytest.mark.parametrize("flags", [
    ["--memory", "99999999999999999999999"], ["--memory", HUGE], ["-m", "1" + "0" * 400 + "k"],
    ["--pids-limit", "99999999999999999999999"], ["--pids-limit", HUGE],
    ["--tmpfs", "/x:size=99999999999999999999999"], ["--tmpfs", "/x:nr_inodes=" + HUGE],
    ["--log-opt", "max-size=99999999999999999999999"], ["--log-opt", "max-size=" + HUGE],
    ["--log-opt", "max-file=99999999999999999999999"], ["--log-opt", "max-file=²"],
    ["--stop-timeout", "99999999999999999999999"], ["--stop-timeout", HUGE], ["--cpus", HUGE],
])
def test_absurd_sizes_and_counts(sampan, flags):
    err = _one_line_125(sampan("run", "--rm", *flags, "busybox", "true"))
    assert len(err) < 300
    assert sampan("ps", "-aq").out == ""


@pytest.mark.parametrize("flags, named", [
    (["--cap-add", "CAP_NOPE"], "CAP_NOPE"), (["--memory", "lots"], "lots"),
    (["--security-opt", "seccomp=unconfined-ish"], "seccomp"), (["--name", "/bad name"], "bad name"),
])
def test_a_bad_flag_is_named_before_the_image_is_looked_for(sampan, flags, named):
    """Docker pulls a missing image, then rejects the flag; here the flag comes first."""
    err = _one_line_125(sampan("run", "--rm", "--pull", "never", *flags, "no-such-image", "true"))
    assert named in err and "no-such-image" not in err


def test_absurd_counts_elsewhere(sampan):
    sampan.ok("create", "--name", "cc", "busybox", "true")
    _one_line_125(sampan("stop", "-t", "99999999999999999999999", "cc"))
    _one_line_125(sampan("logs", "--tail", HUGE, "cc"))
    _one_line_125(sampan("ps", "-n", HUGE))


def test_memory_limit_is_what_was_asked(sampan):
    out = sampan.ok("run", "--rm", "--memory", "1.5g", "busybox", "sh", "-c",
                    "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max")
    assert int(out) == 3 << 29


_NOISE = random.Random(9).randbytes(100_000)
GARBAGE = {"empty": b"", "random": _NOISE, "text": b"hello\n", "gzipped random": gzip.compress(_NOISE[:5000]),
           "truncated gzip": gzip.compress(b"\0" * 10240)[:40]}


@pytest.mark.parametrize("what", list(GARBAGE))
def test_load_of_empty_or_garbage(sampan, tmp_path, what):
    content = GARBAGE[what]
    f = tmp_path / "in.tar"
    f.write_bytes(content)
    for r in (sampan("load", "-i", str(f)), sampan("load", input=content)):
        err = _one_line_125(r)
        assert err.startswith("sampan: not an image archive")


@pytest.mark.parametrize("fmt", ["docker", "oci"])
@pytest.mark.parametrize("what", ["dotdot", "absolute", "hardlink out", "symlink then file",
                                  "bad capability"])
def test_hostile_layer_refused_by_load_not_by_run(sampan, tmp_path, fmt, what):
    layers = [make_tar(entry("ok", data=b"fine")), HOSTILE[what]]
    arc = legacy_archive(layers, tags=("evil:1",)) if fmt == "docker" else oci_archive(layers)
    f = tmp_path / "evil.tar"
    f.write_bytes(arc.getvalue())
    blobs = set(os.listdir(sampan.root / "blobs" / "sha256"))
    err = _one_line_125(sampan("load", "-i", str(f)))
    assert "refused" in err
    assert "evil" not in sampan.ok("images")
    assert set(os.listdir(sampan.root / "blobs" / "sha256")) == blobs
    assert not (sampan.root.parent / "escaped").exists()


def test_import_refuses_a_bad_capability_xattr(sampan, tmp_path):
    f = tmp_path / "cap.tar"
    f.write_bytes(HOSTILE["bad capability"])
    err = _one_line_125(sampan("import", str(f), "capbad"))
    assert "security.capability" in err
    assert "capbad" not in sampan.ok("images")
