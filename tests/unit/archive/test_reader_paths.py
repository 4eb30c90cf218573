"""Archive member paths: whatever the name, a cleaned path never leaves the archive."""

import pytest
from hypothesis import given, strategies as st

from sampan.archive.reader import clean
from sampan.errors import UnsafeArchive


@given(st.text(alphabet="ab./\\\0", max_size=30))
def test_clean_never_escapes(name):
    try:
        out = clean(name)
    except UnsafeArchive:
        return
    assert not out.startswith("/") and out != ".." and not out.startswith("../")
    assert "/../" not in f"/{out}/"


@pytest.mark.parametrize("name", ["/etc/passwd", "../x", "a/../../x", "a\0b"])
def test_clean_refuses(name):
    with pytest.raises(UnsafeArchive):
        clean(name)


def test_clean_normalises():
    assert clean("./blobs//sha256/./abc") == "blobs/sha256/abc"
    assert clean("a/b/../c") == "a/c"
