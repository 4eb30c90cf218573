"""cp's path rules (Docker's): which argument is a container's, what a trailing / or
/. asserts, and where a source lands."""

from __future__ import annotations

import pytest

from sampan.cli.cp_args import split_arg
from sampan.engine.cp_paths import Placement, parse, place, top_name
from sampan.errors import InvalidArgument


@pytest.mark.parametrize("arg, want", [
    ("c:/a", ("c", "/a")), ("c:a", ("c", "a")), ("c:", ("c", "")),
    ("/abs/f:x", (None, "/abs/f:x")), ("./f:x", (None, "./f:x")), ("../f:x", (None, "../f:x")),
    ("plain", (None, "plain")), ("-", (None, "-")),
])
def test_split_arg(arg, want):
    assert split_arg(arg) == want


def test_parse_container_paths():
    p = parse("etc/passwd")
    assert (p.path, p.contents, p.asserts_dir, p.base, p.parent) == ("/etc/passwd", False, False, "passwd", "/etc")
    assert parse("/a/b/").asserts_dir and not parse("/a/b/").contents and parse("/a/b/").base == "b"
    d = parse("/a/b/.")
    assert (d.path, d.contents, d.asserts_dir) == ("/a/b", True, True)
    assert parse("/a/../../b").path == "/b"  # lexical, and never above /
    root = parse("/")
    assert (root.path, root.contents) == ("/", True)
    assert parse("//x").path == "/x"


def test_parse_local_paths_against_cwd():
    assert parse("x/y", cwd="/home/u").path == "/home/u/x/y"
    assert parse(".", cwd="/home/u").contents
    assert parse("/abs", cwd="/home/u").path == "/abs"


def test_top_name():
    assert top_name(parse("/a/b")) == "b"
    assert top_name(parse("/a/b/.")) == "."
    assert top_name(parse("/a/link"), "link") == "link"


def P(path):
    return parse(path)


@pytest.mark.parametrize("src_dir, dst, exists, is_dir, want", [
    (False, "/x", False, False, Placement("/", "x")),      # file -> new name
    (False, "/x", True, False, Placement("/", "x")),       # file -> over a file
    (False, "/x", True, True, Placement("/x", "f")),       # file -> into a dir
    (True, "/x", False, False, Placement("/", "x")),       # dir -> new name (its contents)
    (True, "/x", True, True, Placement("/x", "f")),        # dir -> into a dir
    (True, "/x/", False, False, Placement("/", "x")),      # dir -> new dir named with a slash
])
def test_place(src_dir, dst, exists, is_dir, want):
    assert place(src_dir, "f", P(dst), exists, is_dir, dst) == want


@pytest.mark.parametrize("src_dir, dst, exists, is_dir, text", [
    (False, "/x/", False, False, "must exist"),
    (True, "/x", True, False, "cannot copy a directory to a file"),
    (False, "/x/", True, False, "not a directory"),
])
def test_place_refusals(src_dir, dst, exists, is_dir, text):
    with pytest.raises(InvalidArgument) as e:
        place(src_dir, "f", P(dst), exists, is_dir, dst)
    assert text in e.value.message and e.value.exit_code == 1
