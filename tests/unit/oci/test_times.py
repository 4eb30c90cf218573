"""RFC 3339 times: the positional fast path agrees with strptime, and hostile text
(an image's `created` is anyone's) reads as unknown instead of failing."""

import calendar
import time

import pytest
from hypothesis import given, strategies as st

from sampan.oci.times import parse_time


@given(st.integers(min_value=0, max_value=4_102_444_800), st.integers(min_value=0, max_value=999_999_999))
def test_fast_path_agrees_with_strptime(seconds, nanos):
    base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    expected = calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S"))
    assert parse_time(f"{base}.{nanos:09d}Z") == pytest.approx(expected + nanos / 1e9)
    assert parse_time(base + "Z") == expected


@pytest.mark.parametrize("text", [
    "", "garbage", "2024-13-01T00:00:00Z", "2024-01-01T24:00:00Z", "2024-0１-01T00:00:00Z",
    "2024-+1-01T00:00:00Z", "2024-01-01T00:00:00.abcZ", "2024-01-01T00:00:00.1e5Z", "2024-01-01 00:00:00Z",
])
def test_unreadable_times_are_unknown(text):
    assert parse_time(text) == 0.0


def test_other_forms_still_go_through_strptime():
    assert parse_time("2024-1-2T03:04:05Z") == calendar.timegm((2024, 1, 2, 3, 4, 5, 0, 0, 0))
