"""The background layer check: same verdicts as the inline LayerDigester, never hangs."""

import gzip
import hashlib
import io
import tarfile
import threading

import pytest

from sampan.errors import DigestMismatch
from sampan.oci.layerdigest import LayerDigester
from sampan.registry.digestworker import BackgroundDigester


def layer() -> tuple[bytes, bytes]:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        ti = tarfile.TarInfo("f")
        data = bytes(range(256)) * 4000
        ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
    return buf.getvalue(), gzip.compress(buf.getvalue())


def chunks(b: bytes, n: int = 4096):
    return [b[i:i + n] for i in range(0, len(b), n)]


def test_same_result_as_inline():
    raw, gz = layer()
    bg = BackgroundDigester(LayerDigester(expected_size=len(gz)))
    for c in chunks(gz):
        bg.update(c)
    digest, size, diff_id, kind = bg.finish()
    assert digest == "sha256:" + hashlib.sha256(gz).hexdigest() and size == len(gz)
    assert diff_id == "sha256:" + hashlib.sha256(raw).hexdigest() and kind == "gzip"


def test_corrupt_stream_raises_from_update_or_finish():
    _, gz = layer()
    bad = gz[:20] + b"\xff" * 5000 + gz[5020:]
    bg = BackgroundDigester(LayerDigester())
    with pytest.raises(DigestMismatch):
        for c in chunks(bad):
            bg.update(c)
        bg.finish()
    bg.abandon()


def test_truncated_stream_then_abandon_does_not_hang():
    _, gz = layer()
    bg = BackgroundDigester(LayerDigester())
    for c in chunks(gz[: len(gz) // 2]):
        bg.update(c)
    bg.abandon()                       # the download failed: no result wanted
    assert not any(t.name == "layer-digest" and t is bg._thread and t.is_alive()
                   for t in threading.enumerate())
    with pytest.raises(DigestMismatch, match="truncated"):
        bg2 = BackgroundDigester(LayerDigester())
        for c in chunks(gz[: len(gz) // 2]):
            bg2.update(c)
        bg2.finish()
