""".dockerignore rules (Docker's patternmatcher semantics)."""

import pytest

from sampan.build.ignore import IgnoreMatcher, load_ignore_file

CASES = [
    # (patterns, path, ignored?)
    ("*.md", "README.md", True),
    ("*.md", "docs/README.md", False),  # * does not cross /
    ("**/*.md", "docs/a/README.md", True),
    ("**/*.md", "README.md", True),  # ** matches zero dirs
    ("docs/**", "docs/a/b", True),
    ("docs/**", "docsx/a", False),
    ("/tmp", "tmp/x", True),  # leading / is dropped; a dir excludes its contents
    ("./tmp/../build", "build/out", True),  # cleaned like filepath.Clean
    ("*/temp*", "somedir/temporary.txt", True),
    ("*/*/temp*", "somedir/subdir/temporary.txt", True),
    ("temp?", "temp1", True),
    ("temp?", "temp12", False),
    ("file[0-9]", "file5", True),
    ("file[^0-9]", "filex", True),
    ("file[^0-9]", "file5", False),
    ("\\*star", "*star", True),
    ("\\*star", "xstar", False),
    ("# comment\n\n  spaced.txt  ", "spaced.txt", True),
    ("*.log\n!keep.log", "keep.log", False),
    ("*.log\n!keep.log", "other.log", True),
    ("!keep.log\n*.log", "keep.log", True),  # last match wins
    ("**\n!src/**\nsrc/**/*.tmp", "src/a/b.tmp", True),
    ("**\n!src/**\nsrc/**/*.tmp", "src/a/b.c", False),
    ("**\n!src/**\nsrc/**/*.tmp", "other", True),
    ("node_modules\n!node_modules/keep", "node_modules/keep/x", False),
    ("node_modules\n!node_modules/keep", "node_modules/drop", True),
]


@pytest.mark.parametrize("patterns,path,expected", CASES)
def test_patterns(patterns, path, expected):
    assert IgnoreMatcher.from_text(patterns).ignored(path) is expected


def test_may_reinclude_under_only_with_relevant_exceptions():
    m = IgnoreMatcher.from_text("build\n!build/keep")
    assert m.may_reinclude_under("build")
    assert not IgnoreMatcher.from_text("build").may_reinclude_under("build")


def test_dockerfile_specific_ignore_file_wins(tmp_path):
    (tmp_path / ".dockerignore").write_text("a\n")
    (tmp_path / "app.Dockerfile.dockerignore").write_text("b\n")
    m = load_ignore_file(tmp_path, tmp_path / "app.Dockerfile")
    assert m.ignored("b") and not m.ignored("a")
    m = load_ignore_file(tmp_path, tmp_path / "Dockerfile")
    assert m.ignored("a") and not m.ignored("b")


def test_bare_exclamation_is_an_error():
    with pytest.raises(ValueError):
        IgnoreMatcher.from_text("!\n")


def test_bad_pattern_in_build_is_a_build_error(h):
    from sampan.errors import BuildError

    h.write({".dockerignore": "file[0-9\n"})
    with pytest.raises(BuildError, match=r"^\.dockerignore: .*unterminated"):
        h.build("FROM busybox\n")
