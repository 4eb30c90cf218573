"""The entry-time checker (tarpath.ShapeChecker: import, load, pull) refuses exactly what the
extractor (unpack.extract_tar: the first `run`) refuses, so a layer the store accepts is a
layer that unpacks. Hostile and odd entries, then random mixes of them."""

import io
import os
import struct
import tarfile

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from sampan.errors import SampanError
from sampan.store.tarpath import ShapeChecker
from sampan.store.unpack import extract_tar
from tests.unit.store.tarmaker import entry, make_tar

IS_ROOT = os.geteuid() == 0
CAP_V2 = struct.pack("<IIIII", 0x02000001, 1 << 10, 0, 0, 0)     # cap_net_bind_service+ep
CAP_V3 = struct.pack("<IIIIII", 0x03000000, 1 << 10, 0, 0, 0, 0)


def _verdicts(tar: bytes, tmp_path) -> tuple[str | None, str | None]:
    """(checker's refusal, extractor's refusal): None when it accepted."""
    probe = tmp_path / "probe"
    probe.mkdir()
    checked = None
    try:
        shape = ShapeChecker(str(probe))
        with tarfile.open(fileobj=io.BytesIO(tar), mode="r|") as t:
            for ti in t:
                shape.check(ti)
        shape.finish()
    except SampanError as e:
        checked = e.message
    except tarfile.TarError as e:
        checked = f"tar: {e}"
    assert os.listdir(probe) == []
    dest = tmp_path / "dest"
    dest.mkdir()
    extracted = None
    try:
        extract_tar(io.BytesIO(tar), dest)
    except SampanError as e:
        extracted = e.message
    return checked, extracted


def _pax(ti, **headers):
    ti.pax_headers = {**(ti.pax_headers or {}), **headers}
    return ti


def _odd_tars():
    e = entry
    yield "cap garbage", [(_pax(e("f", data=b"x")[0], **{"SCHILY.xattr.security.capability": "garbage"}), b"x")]
    yield "cap v2", [(_pax(e("f", data=b"x")[0], **{"SCHILY.xattr.security.capability": CAP_V2.decode("latin-1")}), b"x")]
    yield "cap v3", [(_pax(e("f", data=b"x")[0], **{"SCHILY.xattr.security.capability": CAP_V3.decode("latin-1")}), b"x")]
    yield "cap on a dir", [(_pax(e("d", "dir")[0], **{"SCHILY.xattr.security.capability": "bad"}), None)]
    yield "cap on a replaced dir", [(_pax(e("d", "dir")[0], **{"SCHILY.xattr.security.capability": "bad"}), None),
                                    e("d", data=b"x")]
    yield "xattr name too long", [(_pax(e("f", data=b"x")[0], **{"SCHILY.xattr.user." + "n" * 300: "v"}), b"x")]
    yield "xattr value too big", [(_pax(e("f", data=b"x")[0], **{"SCHILY.xattr.user.big": "v" * 70000}), b"x")]
    yield "xattr user. alone", [(_pax(e("f", data=b"x")[0], **{"SCHILY.xattr.user.": "v"}), b"x")]
    yield "xattr unknown namespace", [(_pax(e("f", data=b"x")[0], **{"SCHILY.xattr.weird.x": "v"}), b"x")]
    yield "overlay xattr forged", [(_pax(e("d", "dir")[0], **{"SCHILY.xattr.trusted.overlay.opaque": "y"}), None)]
    yield ".wh. alone", [e("d/.wh.", data=b"")]
    yield ".wh.. (whiteout of .)", [e(".wh..", data=b"")]
    yield ".wh... (whiteout of ..)", [e("d/.wh...", data=b"")]
    yield ".wh.x as a dir, then inside it", [e(".wh.x", "dir"), e(".wh.x/f", data=b"x")]
    yield "opaque marker as a dir", [e("d", "dir"), e("d/.wh..wh..opq", "dir")]
    yield "opaque at the root", [e(".wh..wh..opq", data=b"")]
    yield "whiteout then a file below it", [e(".wh.a", data=b""), e("a/f", data=b"x")]
    yield "whiteout of an implied dir", [e("a/b", data=b"x"), e(".wh.a", data=b""), e("a/c", data=b"x")]
    yield "whiteout of own file", [e("a", data=b"x"), e(".wh.a", data=b""), e("a/c", data=b"x")]
    yield "aufs meta dir", [e(".wh..wh.plnk", "dir"), e(".wh..wh.plnk/123.4", data=b"x")]
    yield "long whiteout", [e(".wh." + "w" * 253, data=b"")]
    yield "hardlink to whiteout", [e(".wh.a", data=b""), e("b", "hardlink", link="a")]
    yield "hardlink replacing its target's dir", [e("a/b", data=b"x"), e("a", "hardlink", link="a/b")]
    yield "hardlink to a dir", [e("d", "dir"), e("h", "hardlink", link="d")]
    yield "hardlink to itself", [e("h", "hardlink", link="h")]
    yield "hardlink to a symlink", [e("s", "symlink", link="/etc/passwd"), e("h", "hardlink", link="s")]
    yield "hardlink escaping", [e("h", "hardlink", link="../../etc/passwd")]
    yield "hardlink absolute", [e("h", "hardlink", link="/etc/passwd")]
    yield "symlink then file through it", [e("s", "symlink", link="/tmp"), e("s/f", data=b"x")]
    yield "symlink then same-name file", [e("s", "symlink", link="/etc/passwd"), e("s", data=b"x")]
    yield "symlink then dir", [e("s", "symlink", link="/etc"), e("s", "dir"), e("s/f", data=b"x")]
    yield "empty symlink target", [e("s", "symlink", link="")]
    yield "file then below it", [e("f", data=b"x"), e("f/g", data=b"x")]
    yield "fifo then below it", [e("p", "fifo"), e("p/g", data=b"x")]
    yield "root as a file", [e(".", data=b"x")]
    yield "root dir with cap", [(_pax(e(".", "dir")[0], **{"SCHILY.xattr.security.capability": "bad"}), None)]
    yield "name too long", [e("d/" + "n" * 256, data=b"x")]
    yield "dir name too long", [e("n" * 256 + "/f", data=b"x")]
    yield "dotdot inside", [e("a/../b", data=b"x")]
    yield "nan mtime", [(_pax(e("f", data=b"x")[0], mtime="nan"), b"x")]
    yield "huge mtime on a dir", [(_pax(e("d", "dir")[0], mtime="1e30"), None)]
    yield "huge uid", [(_pax(e("f", data=b"x")[0], uid=str(2**40)), b"x")]
    yield "huge uid on a replaced dir", [(_pax(e("d", "dir")[0], uid=str(2**40)), None), e(".wh.d", data=b"")]
    yield "device", [e("dev/null", "chr", dev=(1, 3))]
    odd = e("z", data=b"")[0]
    odd.type = b"Z"
    yield "unknown type", [(odd, b"")]


@pytest.mark.parametrize("what, entries", list(_odd_tars()), ids=[w for w, _ in _odd_tars()])
def test_odd_entries_same_verdict(tmp_path, what, entries):
    try:
        tar = make_tar(*entries)
    except (ValueError, OverflowError):
        pytest.skip("tarfile will not write this header")
    checked, extracted = _verdicts(tar, tmp_path)
    assert (checked is None) == (extracted is None), (what, checked, extracted)
    for msg in (checked, extracted):
        assert msg is None or "\n" not in msg


def test_invalid_capability_is_refused_and_valid_ones_pass(tmp_path):
    if not IS_ROOT:
        pytest.skip("security.capability needs root")
    bad = make_tar((_pax(entry("f", data=b"x")[0], **{"SCHILY.xattr.security.capability": "garbage"}), b"x"))
    (tmp_path / "a").mkdir()
    checked, extracted = _verdicts(bad, tmp_path / "a")
    assert checked and "security.capability" in checked and extracted
    good = make_tar((_pax(entry("f", data=b"x")[0], **{"SCHILY.xattr.security.capability": CAP_V2.decode("latin-1")}), b"x"))
    (tmp_path / "b").mkdir()
    assert _verdicts(good, tmp_path / "b") == (None, None)


_names = st.sampled_from(["a", "b", "a/b", "a/c", "b/a", "a/b/c", ".wh.a", ".wh.b", "a/.wh.b",
                          ".wh..wh..opq", "a/.wh..wh..opq", ".wh.", "a/.wh..", ".", "c"])
_kinds = st.sampled_from(["file", "dir", "symlink", "hardlink", "fifo"])
_links = st.sampled_from(["a", "b", "a/b", "a/c", "c", "/abs", "../up", "", "a/b/c"])
_meta = st.sampled_from([{}, {}, {}, {"uid": str(2**40)}, {"mtime": "nan"},
                         {"SCHILY.xattr.security.capability": "junk"},
                         {"SCHILY.xattr.security.capability": CAP_V2.decode("latin-1")},
                         {"SCHILY.xattr.user.k": "v"}])


def random_tar(items) -> bytes | None:
    """A tar of hypothesis' (name, kind, link, pax headers) entries; None if tarfile will
    not write one of them."""
    entries = []
    for name, kind, link, meta in items:
        ti, data = entry(name, kind, b"x" if kind == "file" else b"", link=link)
        if meta:
            _pax(ti, **meta)
        entries.append((ti, data))
    try:
        return make_tar(*entries)
    except (ValueError, OverflowError):
        return None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(_names, _kinds, _links, _meta), min_size=1, max_size=7))
def test_random_layers_same_verdict(tmp_path_factory, items):
    tar = random_tar(items)
    if tar is None:
        return
    checked, extracted = _verdicts(tar, tmp_path_factory.mktemp("parity"))
    assert (checked is None) == (extracted is None), (items, checked, extracted)
