"""The layer check inflates gzip with ISA-L when python-isal is there, else zlib: the same
verdicts and the same bytes either way, for good, multi-member, padded and hostile streams."""

import gzip
import hashlib
import os
import zlib

import pytest

from sampan.errors import DigestMismatch
from sampan.oci import layerdigest

isal_zlib = pytest.importorskip("isal.isal_zlib")  # a declared dependency: present in CI


@pytest.fixture(params=["isal", "zlib"])
def inflate(request, monkeypatch):
    mod = isal_zlib if request.param == "isal" else zlib
    monkeypatch.setattr(layerdigest, "_inflate", mod)
    return mod


def check(blob: bytes, budget: int = 1 << 40) -> tuple[str, str, bytes]:
    out = bytearray()
    d = layerdigest.LayerDigester(expected_size=len(blob), budget=budget, tee=out.extend)
    for i in range(0, len(blob), 7919):  # odd chunks: members and headers split anywhere
        d.update(blob[i:i + 7919])
    digest, size, diff_id, kind = d.finish()
    assert digest == "sha256:" + hashlib.sha256(blob).hexdigest() and size == len(blob) and kind == "gzip"
    return diff_id, kind, bytes(out)


def test_the_backend_in_use_is_isal():
    assert layerdigest._inflate is isal_zlib


def test_same_bytes_and_diff_id_with_either(inflate):
    raw = os.urandom(300_000) + b"\0" * 3_000_000 + bytes(range(256)) * 5000
    for blob in (gzip.compress(raw), gzip.compress(raw[:1000]) + gzip.compress(raw[1000:]),  # two members
                 gzip.compress(raw) + b"\0" * 1024):                                        # tar-style padding
        diff_id, _, out = check(blob)
        assert out == raw and diff_id == "sha256:" + hashlib.sha256(raw).hexdigest()


@pytest.mark.parametrize("hostile, words", [
    (lambda gz: gz[:10] + b"\xff" * 50 + gz[60:], "not a valid gzip stream"),
    (lambda gz: gz + b"garbage after", "trailing garbage"),
])
def test_hostile_streams_are_refused_with_either(inflate, hostile, words):
    gz = gzip.compress(os.urandom(100_000))
    with pytest.raises(DigestMismatch, match=words):
        check(hostile(gz))


def test_a_bomb_stops_at_the_budget_with_either(inflate):
    bomb = gzip.compress(b"\0" * (64 << 20))  # 64 MiB from ~64 KiB
    with pytest.raises(layerdigest.LayerTooLarge):
        check(bomb, budget=1 << 20)
