"""MergedView answers like overlayfs: whiteouts, opaque dirs, files shadowing dirs, symlinks."""

import os

import pytest

from sampan.store.merged_view import MergedView

IS_ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not IS_ROOT, reason="whiteouts and trusted xattrs need root")


def make(base, name, files):
    d = base / name
    d.mkdir()
    for rel, content in files.items():
        p = d / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if content is None:
            p.mkdir(exist_ok=True)
        elif content == "WHITEOUT":
            os.mknod(p, 0o600 | 0o020000, os.makedev(0, 0))
        else:
            p.write_text(content)
    return d


@needs_root
def test_whiteout_hides_lower_entry(tmp_path):
    lower = make(tmp_path, "lower", {"a/x": "1", "a/y": "2"})
    upper = make(tmp_path, "upper", {"a/x": "WHITEOUT"})
    view = MergedView([upper, lower])
    assert view.find("a/x") is None and view.find("a/y") == lower / "a/y"
    assert view.listdir("a") == ["y"]


@needs_root
def test_opaque_dir_hides_everything_below_it(tmp_path):
    lower = make(tmp_path, "lower", {"a/b/c": "old", "a/old": "o"})
    upper = make(tmp_path, "upper", {"a/b/": None, "a/new": "n"})
    os.setxattr(upper / "a", "trusted.overlay.opaque", b"y")
    view = MergedView([upper, lower])
    assert view.find("a/old") is None
    assert view.find("a/b/c") is None  # opaque grandparent hides it too
    assert view.listdir("a") == ["b", "new"] and view.listdir("a/b") == []


def test_file_in_upper_shadows_lower_directory(tmp_path):
    lower = make(tmp_path, "lower", {"a/x": "1"})
    upper = make(tmp_path, "upper", {"a": "now a file"})
    view = MergedView([upper, lower])
    assert view.find("a/x") is None and view.find("a") == upper / "a"


def test_resolve_follows_symlinks_across_layers_and_stays_in_root(tmp_path):
    lower = make(tmp_path, "lower", {"real/f": "x"})
    upper = make(tmp_path, "upper", {})
    os.symlink("/real", upper / "abs")
    os.symlink("../../../real", upper / "rel")
    view = MergedView([upper, lower])
    assert view.resolve("/abs/f") == "/real/f"
    assert view.resolve("/rel/f") == "/real/f"  # .. stops at the root
    assert view.real_path("/abs/f") == lower / "real/f"
    assert view.is_dir("/abs") and not view.is_dir("/abs/f")
