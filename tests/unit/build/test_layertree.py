"""LayerTree: a build step's writes resolve in the image (every layer's links followed,
scoped to the root) and land in the step's upper dir only: never on the host, never in
a lower layer (layers are shared by images)."""

from __future__ import annotations

import io
import os
import stat

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from sampan.build.layertree import LayerTree
from sampan.store.extract_at import ExtractOptions, Extractor, ExtractRefused
from tests.unit.store.tarmaker import entry


def snapshot(top) -> dict:
    out = {}
    for dirpath, dirnames, filenames in os.walk(top):
        for n in [".", *dirnames, *filenames]:
            p = os.path.normpath(os.path.join(dirpath, n))
            s = os.lstat(p)
            data = open(p, "rb").read() if stat.S_ISREG(s.st_mode) else \
                os.readlink(p) if stat.S_ISLNK(s.st_mode) else None
            out[p] = (s.st_mode, s.st_uid, s.st_gid, s.st_nlink, data)
    return out


@pytest.fixture
def layers(tmp_path):
    host = tmp_path / "host"
    (host / "dir").mkdir(parents=True)
    (host / "secret").write_text("host")
    os.chmod(host / "secret", 0o600)
    lower = tmp_path / "lower"
    (lower / "real").mkdir(parents=True)
    os.chmod(lower / "real", 0o711)
    (lower / "file").write_text("f")
    (lower / "abs").symlink_to("/real")
    (lower / "rel").symlink_to("real")
    (lower / "hostdir").symlink_to(host / "dir")
    (lower / "hostfile").symlink_to(host / "secret")
    (lower / "climb").symlink_to("../../../../../../../../..")
    upper = tmp_path / "upper"
    upper.mkdir()
    return host, lower, upper


def apply(tree: LayerTree, dest: str, *members, opts=None) -> None:
    with Extractor(tree, dest, opts or ExtractOptions()) as ex:
        for ti, data in members:
            if data is not None:
                ti.size = len(data)
            tf = _OneFile(data)
            ex.apply(ti, tf)
        ex.finish()


class _OneFile:
    """Stands in for a TarFile: extractfile() gives the member's bytes."""

    def __init__(self, data):
        self.data = data

    def extractfile(self, ti):
        return io.BytesIO(self.data or b"")


def test_links_in_lower_layers_resolve_inside_the_image(layers):
    host, lower, upper = layers
    before = snapshot(host.parent / "host"), snapshot(lower)
    with LayerTree(upper, [lower]) as tree:
        apply(tree, "/abs", entry("a", data=b"1"))
        apply(tree, "/rel/sub", entry("b", data=b"2"))
        apply(tree, "/hostdir", entry("c", data=b"3"))
        apply(tree, "/climb/real", entry("d", data=b"4"))
        apply(tree, "/", entry("hostfile", data=b"5"))
    assert (upper / "real" / "a").read_bytes() == b"1"
    assert (upper / "real" / "sub" / "b").read_bytes() == b"2"
    assert (upper / str(host / "dir").lstrip("/") / "c").read_bytes() == b"3"
    assert (upper / "real" / "d").read_bytes() == b"4"
    assert (upper / "hostfile").read_bytes() == b"5"  # the lower link hidden, not followed
    assert stat.S_IMODE(os.lstat(upper / "real").st_mode) == 0o711  # the lower dir's metadata
    assert (snapshot(host), snapshot(lower)) == before


def test_a_file_in_the_way_is_an_error(layers):
    _, lower, upper = layers
    with LayerTree(upper, [lower]) as tree:
        with pytest.raises(NotADirectoryError):
            tree.open_dir("/file/x", True)
        with pytest.raises(ExtractRefused, match="'file/x'"):
            apply(tree, "/", entry("file/x", data=b"1"))


_NAMES = ["a", "b", "a/b", "b/c", "real", "real/x", "abs", "abs/y", "hostdir", "hostdir/z",
          "hostfile", "climb", "climb/w", "rel/v"]


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_property_writes_land_in_upper_only(tmp_path_factory, data):
    base = tmp_path_factory.mktemp("lt")
    host = base / "host"
    (host / "dir").mkdir(parents=True)
    (host / "secret").write_text("host")
    lower = base / "lower"
    lower.mkdir()
    links = [str(host / "dir"), str(host / "secret"), str(host), "/", "..", "../../..", "a", "real",
             "/real", "../" * 9 + str(host / "dir").lstrip("/")]
    for name in data.draw(st.lists(st.sampled_from(["a", "real", "b"]), max_size=2, unique=True)):
        (lower / name).mkdir()
    for name in data.draw(st.lists(st.sampled_from(["abs", "hostdir", "hostfile", "climb", "rel"]),
                                   max_size=5, unique=True)):
        (lower / name).symlink_to(data.draw(st.sampled_from(links)))
    upper = base / "upper"
    upper.mkdir()
    before = snapshot(host), snapshot(lower)
    member = st.one_of(
        st.tuples(st.sampled_from(_NAMES), st.just("file"), st.just("")),
        st.tuples(st.sampled_from(_NAMES), st.just("dir"), st.just("")),
        st.tuples(st.sampled_from(_NAMES), st.just("symlink"), st.sampled_from(links)),
        st.tuples(st.sampled_from(_NAMES), st.just("hardlink"), st.sampled_from(_NAMES)))
    members = []
    for name, kind, link in data.draw(st.lists(member, min_size=1, max_size=8)):
        if kind == "file":
            members.append(entry(name, data=b"evil", mode=0o4777, uid=1000))
        else:
            members.append(entry(name, kind, link=link, mode=0o777, uid=1000))
    dest = data.draw(st.sampled_from(["/", "/abs", "/hostdir", "/climb/x", "/real"]))
    with LayerTree(upper, [lower]) as tree:
        try:
            apply(tree, dest, *members, opts=ExtractOptions(owner=(1000, 1000)))
        except ExtractRefused:
            pass
    assert (snapshot(host), snapshot(lower)) == before
    assert sorted(os.listdir(base)) == ["host", "lower", "upper"]
