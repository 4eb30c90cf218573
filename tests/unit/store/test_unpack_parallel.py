"""store/unpack_parallel.ParallelExtractor (a pull's unpack: new files written by worker
threads) leaves exactly what the serial SafeExtractor leaves, and refuses exactly what it
refuses, on random layers whose entries collide: files replaced by dirs, links to pending
files, whiteouts of them, opaque dirs, bad metadata."""

import io
import os
import stat

from hypothesis import HealthCheck, given, settings, strategies as st

from sampan.errors import SampanError
from sampan.store.unpack import extract_tar
from sampan.store.unpack_parallel import ParallelExtractor
from tests.unit.registry.test_pull_streaming import tree
from tests.unit.store.tarmaker import entry, make_tar
from tests.unit.store.test_shape_parity import _links, _meta, _pax

_names = st.sampled_from(["a", "b", "a/b", "a/c", "b/a", "a/b/c", "d/e", "d/f", "d", ".wh.a",
                          "a/.wh.b", "d/.wh.e", ".wh..wh..opq", "a/.wh..wh..opq", "c"])
_kinds = st.sampled_from(["file", "file", "file", "dir", "symlink", "hardlink", "fifo"])


def _unpack(tar: bytes, dest, extractor) -> tuple[str | None, dict | None]:
    dest.mkdir()
    try:
        extract_tar(io.BytesIO(tar), dest, extractor=extractor)
    except SampanError as e:
        return e.message, None
    out = tree(str(dest))
    for rec in out.values():     # a dir no entry names is made "now": its time differs
        if stat.S_ISDIR(rec["mode"]):
            rec.pop("mtime")
    return None, out


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(_names, _kinds, _links, _meta, st.binary(max_size=3000)),
                min_size=1, max_size=12))
def test_parallel_unpack_equals_serial(tmp_path_factory, items):
    entries = []
    for name, kind, link, meta, data in items:
        ti, body = entry(name, kind, data if kind == "file" else b"", link=link)
        if meta:
            _pax(ti, **meta)
        entries.append((ti, body))
    try:
        tar = make_tar(*entries)
    except (ValueError, OverflowError):
        return
    base = tmp_path_factory.mktemp("par")
    serial_error, serial = _unpack(tar, base / "serial", None)
    parallel_error, parallel = _unpack(tar, base / "parallel", ParallelExtractor)
    assert (serial_error is None) == (parallel_error is None), (items, serial_error, parallel_error)
    assert serial == parallel, items


def test_many_files_in_parallel_equal_serial(tmp_path):
    entries = [entry("d", "dir")]
    for i in range(400):
        entries.append(entry(f"d/f{i}", "file", os.urandom(i * 37 % 5000)))
        if i % 50 == 7:
            entries.append(entry(f"d/l{i}", "hardlink", link=f"d/f{i}"))
            entries.append(entry(f"d/f{i - 3}", "file", b"replaced"))
            entries.append(entry(f"d/.wh.f{i - 5}", "file"))
    entries.append(entry("big", "file", os.urandom(3 << 20)))   # past the buffered size
    tar = make_tar(*entries)
    assert _unpack(tar, tmp_path / "s", None) == _unpack(tar, tmp_path / "p", ParallelExtractor)
    assert len(os.listdir(tmp_path / "p" / "d")) > 400
