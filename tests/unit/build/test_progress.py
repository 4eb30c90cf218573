"""Progress output modes: plain lines, quiet, and the terminal view."""

import io

import pytest

from sampan.build.executor import BuildOptions, build
from sampan.build.progress import Progress, make_progress
from sampan.errors import InvalidArgument


def test_plain_numbering_and_cached(h):
    h.build("FROM busybox\nRUN a\n")
    h.build("FROM busybox\nRUN a\n")
    lines = h.out.getvalue().splitlines()
    assert lines[0] == "#1 [internal] load build definition from Dockerfile"
    assert "#4 [2/2] RUN a" in lines and "#4 CACHED" in lines
    assert "#2 [internal] load .dockerignore" in lines


def test_multi_stage_titles_name_the_stage(h):
    h.build("FROM busybox AS builder\nRUN a\nFROM builder\nRUN b\n")
    out = h.out.getvalue()
    assert "[builder 2/2] RUN a" in out and "[stage-1 2/2] RUN b" in out


def test_quiet_writes_nothing(h):
    buf = io.StringIO()
    p = make_progress("quiet", buf)
    build(h.backend, h.db, BuildOptions("FROM busybox\nRUN a\n", None), p)
    assert buf.getvalue() == ""


def test_tty_view_renders_steps(h):
    buf = io.StringIO()
    p = make_progress("tty", buf)
    h.backend.effect = lambda call, upper, out: (out(b"some output\n"), 0)[1]
    build(h.backend, h.db, BuildOptions("FROM busybox\nRUN a\n", None), p)
    p2 = make_progress("tty", buf)
    build(h.backend, h.db, BuildOptions("FROM busybox\nRUN a\n", None), p2)
    text = buf.getvalue()
    assert "=> [2/2] RUN a" in text and "=> CACHED [2/2] RUN a" in text


def test_auto_is_plain_without_a_terminal():
    assert type(make_progress("auto", io.StringIO())) is Progress
    with pytest.raises(InvalidArgument):
        make_progress("fancy", io.StringIO())


def test_tty_view_is_closed_when_parsing_fails(h):
    from sampan.errors import BuildError

    buf = io.StringIO()
    p = make_progress("tty", buf)
    with pytest.raises(BuildError):
        build(h.backend, h.db, BuildOptions("FROM busybox\nBOGUS x\n", None), p)
    assert not p._live.is_started
