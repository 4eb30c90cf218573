"""The pure rules: restart policies (Docker's parsing, ShouldRestart, backoff), healthcheck
configs (Go durations, merge with the image's), health status moves and output truncation."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sampan.engine import health_config, health_state, restart_policy
from sampan.engine.health_probe import go_duration
from sampan.errors import InvalidArgument


@pytest.mark.parametrize("spec,want", [
    ("no", None), ("always", {"Name": "always", "MaximumRetryCount": 0}),
    ("unless-stopped", {"Name": "unless-stopped", "MaximumRetryCount": 0}),
    ("on-failure", {"Name": "on-failure", "MaximumRetryCount": 0}),
    ("on-failure:5", {"Name": "on-failure", "MaximumRetryCount": 5}),
])
def test_parse(spec, want):
    assert restart_policy.parse(spec) == want


@pytest.mark.parametrize("spec", [":3", "always:1", "on-failure:x", "on-failure:-2", "never", "ALWAYS", ""])
def test_parse_refuses(spec):
    if spec == "":
        assert restart_policy.parse(spec) is None  # as Docker: empty is "no"
        return
    with pytest.raises(InvalidArgument):
        restart_policy.parse(spec)


@given(st.text(max_size=20))
def test_parse_any_text_is_a_policy_or_invalid_argument(text):
    try:
        restart_policy.parse(text)
    except InvalidArgument:
        pass


def test_wants_restart_as_docker():
    w = restart_policy.wants_restart
    always, unless = {"Name": "always"}, {"Name": "unless-stopped"}
    of2 = {"Name": "on-failure", "MaximumRetryCount": 2}
    assert w(always, 0, 99, True) and w(unless, 0, 0, False) and not w(unless, 1, 0, True)
    assert w(of2, 1, 0, False) and w(of2, 1, 1, False) and not w(of2, 1, 2, False) and not w(of2, 0, 0, False)
    assert w({"Name": "on-failure", "MaximumRetryCount": 0}, 3, 1000, False)
    assert not w(None, 1, 0, False)


def test_backoff_doubles_to_a_minute_and_resets_after_a_steady_run():
    d, seen = 0.0, []
    for _ in range(12):
        d = restart_policy.next_delay(d, 0.5)
        seen.append(d)
    assert seen[:4] == [0.1, 0.2, 0.4, 0.8] and seen[-1] == 60.0 and max(seen) == 60.0
    assert restart_policy.next_delay(60.0, 10.0) == 0.1


@pytest.mark.parametrize("text,ns", [("0", 0), ("1s", 10**9), ("500ms", 5 * 10**8), ("1m30s", 90 * 10**9),
                                     ("1.5h", 5400 * 10**9), ("2us", 2000), ("-1s", -(10**9))])
def test_go_durations(text, ns):
    assert health_config.parse_duration(text, "--health-interval") == ns


@pytest.mark.parametrize("text", ["", "1", "s", "1x", "1s2", "soon", "1 s"])
def test_bad_durations(text):
    with pytest.raises(InvalidArgument):
        health_config.parse_duration(text, "--health-interval")


def test_merge_and_checks():
    image = {"Test": ["CMD", "/check"], "Interval": 5 * 10**9, "Retries": 4}
    assert health_config.merge({"Interval": "1s"}, image) == {"Test": ["CMD", "/check"], "Interval": 10**9,
                                                              "Retries": 4}
    assert health_config.merge({"Test": ["NONE"]}, image) is None
    assert health_config.merge(None, {"Test": ["NONE"]}) is None
    assert health_config.merge({"Test": ["CMD-SHELL", "x"]}, None) == {"Test": ["CMD-SHELL", "x"]}
    for bad in ({"Test": ["CMD"]}, {"Test": ["RUN", "x"]}, {"Test": ["CMD-SHELL", "x"], "Interval": 5},
                {"Test": ["CMD-SHELL", "x"], "Timeout": -(10**9)}, {"Test": ["CMD-SHELL", "x"], "Retries": -1},
                {"Test": "CMD true"}, {"Test": ["CMD-SHELL", "x"], "Interval": True}):
        with pytest.raises(InvalidArgument):
            health_config.merge(bad, None)
    eff = health_config.effective({"Test": ["CMD", "x"], "Retries": 1})
    assert eff["Interval"] == 30 * 10**9 and eff["Timeout"] == 30 * 10**9 and eff["Retries"] == 1


def test_go_duration_text():
    assert [go_duration(n) for n in (300 * 10**6, 30 * 10**9, 90 * 10**9, 3600 * 10**9, 1500)] == \
        ["300ms", "30s", "1m30s", "1h0m0s", "1500ns"]


class _Ctx:
    def __init__(self, tmp_path):
        class P:
            def container_dir(self, cid):
                return tmp_path
        self.paths = P()


def test_health_moves_as_docker(tmp_path):
    ctx = _Ctx(tmp_path)
    health_state.reset(ctx, "c")

    def res(code):
        return {"Start": "s", "End": "e", "ExitCode": code, "Output": ""}
    assert health_state.record(ctx, "c", res(1), 2, True) == ("starting", "starting")  # start period
    assert health_state.load(ctx, "c")["FailingStreak"] == 0
    assert health_state.record(ctx, "c", res(0), 2, True) == ("starting", "healthy")
    assert health_state.record(ctx, "c", res(1), 2, False) == ("healthy", "healthy")
    assert health_state.record(ctx, "c", res(7), 2, False) == ("healthy", "unhealthy")
    for _ in range(10):
        health_state.record(ctx, "c", res(1), 2, False)
    h = health_state.load(ctx, "c")
    assert len(h["Log"]) == 5 and h["FailingStreak"] == 12
    health_state.record(ctx, "c", res(0), 2, False)
    assert health_state.load(ctx, "c")["Status"] == "healthy"
    health_state.stopped(ctx, "c")
    assert health_state.load(ctx, "c")["Status"] == "unhealthy"


def test_output_truncation():
    assert health_state.truncate(b"ok", False) == "ok"
    assert health_state.truncate(b"x" * 5000, False) == "x" * 4096 + "..."
    assert health_state.truncate(b"x" * 4096, True) == "x" * 4096 + "..."
    assert health_state.truncate(b"\xff\xfe", False) == "\ufffd\ufffd"
