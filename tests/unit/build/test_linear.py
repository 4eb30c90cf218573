"""A Dockerfile of n lines costs O(n) (n log n for an error's line number), not O(n^2).

Measured without clocks: lines of sampan's Python run (sys.settrace), bytes written to
the build cache, lines handed to BuildKit's parser. Each figure at n and at 4n: a
quadratic cost grows 16-fold, a linear one 4-fold.
"""

import json
import math
import sys

import dockerfile as bk
import pytest
from hypothesis import given, strategies as st_

from sampan.build.cache import BuildCache
from sampan.build.parse import parse_dockerfile
from sampan.errors import BuildError


def _dockerfile(n: int, tag: str = "") -> str:
    lines = ["FROM busybox", "ARG V=1"]
    for i in range(n):
        lines.append([f"ENV E{tag}{i}=v{i}", f"LABEL l{tag}{i}=$V", f"ENV SAME=x{i}", f"EXPOSE {1000 + i}",
                      f"# comment {i}", f"LABEL l{tag}{i}=again"][i % 6])
    lines.append('CMD ["sh"]')
    return "\n".join(lines) + "\n"


def _python_lines(fn, package: str = "/sampan/build/") -> int:
    """Line events of sampan's build code while fn runs."""
    count = 0

    def local(frame, event, arg):
        nonlocal count
        if event == "line":
            count += 1
        return local

    def glob(frame, event, arg):
        return local if package in frame.f_code.co_filename else None

    sys.settrace(glob)
    try:
        fn()
    finally:
        sys.settrace(None)
    return count


def test_parse_work_is_linear():
    small = _python_lines(lambda: parse_dockerfile(_dockerfile(5000)))
    big = _python_lines(lambda: parse_dockerfile(_dockerfile(20000)))
    assert big / small < 4.5, (small, big)


def test_build_work_and_cache_are_linear(h):
    cache_bytes = []

    def measure(n: int, tag: str) -> int:
        written = []
        orig = BuildCache.put

        def put(self, key, value):
            written.append(len(json.dumps(value)))
            return orig(self, key, value)
        BuildCache.put = put
        try:
            lines = _python_lines(lambda: h.build(_dockerfile(n, tag)))
        finally:
            BuildCache.put = orig
        cache_bytes.append(sum(written))
        return lines

    small = measure(300, "a")
    big = measure(1200, "b")
    assert big / small < 4.8, (small, big)
    assert cache_bytes[1] / cache_bytes[0] < 4.8, cache_bytes
    # and a rebuild is all cache hits, with the same image
    first = h.build(_dockerfile(300, "a"))
    again = h.build(_dockerfile(300, "a"))
    assert again.image_id == first.image_id and again.cached_steps == again.steps


def test_error_line_is_found_in_n_log_n(monkeypatch):
    parsed = []
    real = bk.parse_string

    def counting(text):
        parsed.append(text.count("\n"))
        return real(text)
    monkeypatch.setattr(bk, "parse_string", counting)

    def cost(n: int) -> int:
        parsed.clear()
        text = "FROM busybox\n" + "".join(f"ENV A{i}=v{i}\n" for i in range(n)) + "LABEL broken\nENV B=1\n"
        with pytest.raises(BuildError, match=rf"Dockerfile:{n + 2}: LABEL must have two arguments"):
            parse_dockerfile(text)
        return sum(parsed)

    small, big = cost(1000), cost(8000)
    # one by one, as before: n^2/2 lines parsed (64x for 8x the lines); now n log n (~10x)
    assert big <= 4 * 8000 * math.log2(8000), big
    assert big / small < 16, (small, big)


def test_whole_state_entries_of_older_versions_are_still_read(h):
    from sampan.build import steps
    from sampan.build.stage_state import StageState
    first = h.build("FROM busybox\nENV A=1\n")
    layer = h.backend.layer_to_json(first.image.layers[0])
    old = {"config": {"config": {"Env": ["A=1", "B=2"]}}, "layers": [layer],
           "history": [{"created_by": "old"}], "cmd_set": True}
    st = StageState(None, None, {"config": {"Env": ["A=1"]}}, [], [], "base", "k")
    assert st.expand_env()["A"] == "1"
    assert steps._restore(st, old, h.backend)
    assert st.expand_env()["B"] == "2" and st.cmd_set and st.history == [{"created_by": "old"}]
    st.set_env("C", "3")
    assert st.cfg["Env"] == ["A=1", "B=2", "C=3"]


@given(st_.lists(st_.sampled_from(["A=1", "B=2", "A=3", "C=4"]), max_size=4),
       st_.lists(st_.tuples(st_.sampled_from("ABCD"), st_.sampled_from("xyz")), max_size=12))
def test_set_env_is_docker_s_remove_then_append(base, sets):
    from sampan.build.stage_state import StageState
    state = StageState(None, None, {"config": {"Env": list(base)}}, [], [], "b", "k")
    expect = list(base)
    for name, value in sets:
        state.set_env(name, value)
        expect = [e for e in expect if e.partition("=")[0] != name] + [f"{name}={value}"]
        assert state.cfg["Env"] == expect
        assert dict(state.expand_env()) == dict(e.partition("=")[::2] for e in expect)
