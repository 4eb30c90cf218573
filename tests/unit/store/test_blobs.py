import hashlib
import io
import os

import pytest

from sampan.errors import DigestMismatch, InvalidArgument, NotFound
from tests.unit.store.conftest import tree_files


def digest(b: bytes) -> str:
    return "sha256:" + hashlib.sha256(b).hexdigest()


class Endless:
    """A stream that never ends; counts what was read from it."""

    def __init__(self):
        self.read_bytes = 0

    def read(self, n=-1):
        n = 1 << 16 if n is None or n < 0 else n
        self.read_bytes += n
        return b"x" * n


class Failing:
    def __init__(self, good: bytes):
        self.good = good

    def read(self, n=-1):
        if self.good:
            out, self.good = self.good, b""
            return out
        raise OSError("connection reset")


def test_put_bytes_roundtrip_and_idempotent(store):
    d = store.put_blob_bytes(b"hello")
    assert d == digest(b"hello")
    assert store.has_blob(d) and store.blob_size(d) == 5
    assert store.blob_path(d).read_bytes() == b"hello"
    with store.open_blob(d) as f:
        assert f.read() == b"hello"
    assert store.put_blob_bytes(b"hello", expected_digest=d) == d
    assert oct(store.blob_path(d).stat().st_mode & 0o777) == "0o600"  # images may hold secrets


def test_put_bytes_mismatch_leaves_nothing(store):
    with pytest.raises(DigestMismatch):
        store.put_blob_bytes(b"hello", expected_digest=digest(b"other"))
    assert tree_files(store.paths.blobs) == [] and tree_files(store.paths.tmp) == []
    with pytest.raises(InvalidArgument):
        store.put_blob_bytes(b"x", expected_digest="sha256:../../etc")


def test_put_stream_verifies(store):
    data = os.urandom(3 << 20)
    d, n = store.put_blob_stream(io.BytesIO(data), digest(data), len(data))
    assert (d, n) == (digest(data), len(data))
    assert store.blob_path(d).read_bytes() == data
    assert tree_files(store.paths.tmp) == []


def test_put_stream_digest_mismatch_leaves_nothing(store):
    with pytest.raises(DigestMismatch) as e:
        store.put_blob_stream(io.BytesIO(b"evil"), digest(b"good"), 4)
    assert "does not match" in str(e.value)
    assert tree_files(store.paths.blobs) == [] and tree_files(store.paths.tmp) == []


def test_put_stream_size_overflow_aborts_early(store):
    src = Endless()
    with pytest.raises(DigestMismatch) as e:
        store.put_blob_stream(src, digest(b"x" * 10), expected_size=10)
    assert "more than" in str(e.value)
    assert src.read_bytes == 11  # one byte past the limit, not the whole stream
    assert tree_files(store.paths.blobs) == [] and tree_files(store.paths.tmp) == []


def test_put_stream_short_and_failing_streams_leave_nothing(store):
    with pytest.raises(DigestMismatch):
        store.put_blob_stream(io.BytesIO(b"abc"), None, expected_size=10)
    with pytest.raises(OSError):
        store.put_blob_stream(Failing(b"abc"))
    assert tree_files(store.paths.blobs) == [] and tree_files(store.paths.tmp) == []


def test_missing_blob_is_not_found(store):
    d = digest(b"nothing")
    assert not store.has_blob(d)
    with pytest.raises(NotFound):
        store.open_blob(d)
    with pytest.raises(NotFound):
        store.blob_size(d)
