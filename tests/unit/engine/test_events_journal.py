"""The event journal: written line by line, rotated at its bound, read back with since,
until and filters, followed across a rotation; Docker's time forms."""

import os
import threading
import time

import pytest

from sampan.engine import events
from sampan.engine.events_read import Matcher, parse_timestamp, read
from sampan.errors import InvalidArgument


def test_parse_timestamp_forms():
    now = 1_700_000_000.0
    assert parse_timestamp("1700000000", now) == 1_700_000_000
    assert parse_timestamp("1700000000.500000000", now) == 1_700_000_000.5
    assert parse_timestamp("1700000000.25", now) == 1_700_000_000.25
    assert parse_timestamp("10m", now) == now - 600
    assert parse_timestamp("1h30m", now) == now - 5400
    assert parse_timestamp("0s", now) == now
    assert parse_timestamp("2023-11-14T22:13:20Z", now) == 1_700_000_000
    assert parse_timestamp("2023-11-14T23:13:20+01:00", now) == 1_700_000_000
    assert parse_timestamp("2023-11-14T22:13:20.5Z", now) == 1_700_000_000.5
    assert parse_timestamp(None) is None and parse_timestamp("") is None
    for bad in ("yesterday", "12:99", "10x", "-5", "2023-13-45T00:00:00Z", "1e9"):
        with pytest.raises(InvalidArgument):
            parse_timestamp(bad, now)


def _ev(type_, action, aid, **attrs):
    return {"Type": type_, "Action": action, "Actor": {"ID": aid, "Attributes": attrs}, "scope": "local"}


def test_filters_as_docker_applies_them():
    c = _ev("container", "die", "abc123def", name="web", image="nginx:1.25", tier="front")
    img = _ev("image", "tag", "sha256:feed", name="nginx:latest")
    net = _ev("network", "connect", "n1d", name="backend", container="abc123def")
    assert Matcher(None)(c) and Matcher({})(c)
    assert Matcher(["type=container"])(c) and not Matcher(["type=container"])(img)
    assert Matcher({"type": {"image": True}})(img)  # the old map form
    assert Matcher(["container=web"])(c) and Matcher(["container=abc"])(c) and not Matcher(["container=web"])(net)
    assert Matcher(["image=nginx"])(c) and Matcher(["image=nginx:1.25"])(c) and not Matcher(["image=redis"])(c)
    assert Matcher(["image=nginx"])(img)
    assert Matcher(["event=die", "event=start"])(c) and not Matcher(["event=start"])(c)
    assert Matcher(["label=tier=front"])(c) and not Matcher(["label=tier=back"])(c)
    assert Matcher(["network=backend"])(net) and not Matcher(["network=backend"])(c)
    assert not Matcher(["daemon=x"])(c)
    for bad in (["colour=red"], ["type=bogus"], ["nokey"]):
        with pytest.raises(InvalidArgument):
            Matcher(bad)


def test_since_until_and_rotation(tmp_path, monkeypatch):
    monkeypatch.setattr(events, "MAX_BYTES", 2000)
    for i in range(40):  # ~250 bytes each: rotated a few times, the last generation kept
        events.write(str(tmp_path), "volume", "create", f"v{i}", {"driver": "local"})
    cur = tmp_path / "events.jsonl"
    assert (tmp_path / "events.jsonl.1").stat().st_size <= 2300 and (not cur.exists() or cur.stat().st_size <= 2300)
    got = [e["Actor"]["ID"] for e in read(tmp_path, 0, time.time() + 1)]
    assert got == [f"v{i}" for i in range(40 - len(got), 40)] and 8 <= len(got) < 40  # in order, bounded
    mid = list(read(tmp_path, 0, time.time() + 1))[len(got) // 2]["timeNano"] / 1e9
    later = [e["Actor"]["ID"] for e in read(tmp_path, mid, time.time() + 1)]
    assert later and later == got[-len(later):] and len(later) < len(got)
    assert list(read(tmp_path, 0, mid - 3600)) == []


def test_follow_sees_new_events_across_a_rotation(tmp_path, monkeypatch):
    monkeypatch.setattr(events, "MAX_BYTES", 1500)
    events.write(str(tmp_path), "volume", "create", "old", {})
    seen: list[str] = []
    stop = threading.Event()

    def follow():
        for ev in read(tmp_path, None, None, gone=stop.is_set):
            seen.append(ev["Actor"]["ID"])

    t = threading.Thread(target=follow)
    t.start()
    time.sleep(0.3)
    for i in range(30):
        events.write(str(tmp_path), "volume", "create", f"n{i}", {})
        time.sleep(0.01)
    deadline = time.monotonic() + 5
    while len(seen) < 30 and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    t.join(5)
    assert seen == [f"n{i}" for i in range(30)]  # none lost at the rotations, "old" not shown


def test_a_follower_that_slept_through_two_rotations_reads_the_middle_generation(tmp_path, monkeypatch):
    # the CI failure this pins: a follower on generation A woke after A and B were both
    # rotated away and went straight to C, losing B's events
    from sampan.engine.events_read import _follow_rotation, _lines
    monkeypatch.setattr(events, "MAX_BYTES", 1000)
    events.write(str(tmp_path), "volume", "create", "a0", {})
    path = events.journal_path(tmp_path)
    fd = os.open(path, os.O_RDONLY)
    buf = bytearray()
    assert [e["Actor"]["ID"] for e in _lines(fd, buf)] == ["a0"]
    names, inodes = [], set()
    for i in range(40):  # enough for two rotations or more
        events.write(str(tmp_path), "volume", "create", f"n{i}", {})
        names.append(f"n{i}")
        if os.path.exists(path):
            inodes.add(os.stat(path).st_ino)
        if len(inodes) == 3:
            break
    got = []
    for _ in range(10):
        got += [e["Actor"]["ID"] for e in _lines(fd, buf)]
        fd = _follow_rotation(path, fd, buf)
    os.close(fd)
    # what A held after a0, then all of B, then C: in order and with no gap
    assert got == names[:len(got)] and got[-1] == names[-1]
