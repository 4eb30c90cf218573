"""Size and count flags: exact, bounded to 64 bits, and a one-line error past them."""

import pytest

from sampan.errors import InvalidArgument
from sampan.specgen.units import (INT64_MAX, PIDS_MAX, check_tmpfs_option, parse_bytes,
                                  parse_int, parse_memory, parse_pids_limit)

HUGE = "9" * 5000  # past Python's 4300-digit int() limit, and float's range


def test_sizes_are_exact():
    assert parse_bytes("512m") == 512 << 20
    assert parse_bytes("1.5G") == 3 << 29
    assert parse_bytes("100kb") == 102400
    assert parse_bytes("9223372036854775807") == INT64_MAX
    assert parse_bytes("8388607.999t") == 8388607 * (1 << 40) + 999 * (1 << 40) // 1000
    assert parse_memory("6m") == 6 << 20


@pytest.mark.parametrize("value", ["99999999999999999999999", "9223372036854775808", "8388608t",
                                   HUGE, HUGE + ".5g", "1" + "0" * 400 + "k"])
def test_sizes_past_int64_are_refused_in_one_line(value):
    with pytest.raises(InvalidArgument) as e:
        parse_memory(value)
    msg = e.value.message
    assert "too large" in msg and "\n" not in msg and len(msg) < 160


@pytest.mark.parametrize("value", ["1e30", "nan", "inf", "-1", "٣m", "1.g", "", " "])
def test_malformed_sizes(value):
    with pytest.raises(InvalidArgument, match="expected a size"):
        parse_bytes(value, "--log-opt max-size")


def test_counts():
    assert parse_pids_limit("-1") == -1 and parse_pids_limit(str(PIDS_MAX)) == PIDS_MAX
    for bad, why in (("0", "positive"), (str(PIDS_MAX + 1), "too large"), ("99999999999999999999999", "too large"),
                     (HUGE, "too large"), ("-" + HUGE, "too small"), ("²", "whole number"), ("1.5", "whole number")):
        with pytest.raises(InvalidArgument, match=why) as e:
            parse_pids_limit(bad)
        assert len(e.value.message) < 160
    assert parse_int("007", "--x", 1) == 7
    with pytest.raises(InvalidArgument, match="too small"):
        parse_int("0", "--log-opt max-file", 1)


def test_tmpfs_sizes():
    for ok in ("size=64m", "size=50%", "nr_inodes=1k", "mode=1777", "noexec", "size=7e"):
        check_tmpfs_option(ok, "/x:" + ok)
    for bad, why in (("size=99999999999999999999999", "too large"), ("size=16e", "too large"),
                     ("nr_inodes=" + HUGE, "too large"), ("size=12q", "expected"), ("size=", "expected"),
                     ("size=1.5g", "expected")):
        with pytest.raises(InvalidArgument, match=why):
            check_tmpfs_option(bad, "/x:" + bad)


def test_cpus_is_a_cfs_quota_per_100ms():
    from sampan.specgen.units import parse_cpus
    assert parse_cpus("1") == 100_000
    assert parse_cpus("1.5") == 150_000
    assert parse_cpus("0.01") == 1_000
    for bad in ("0", "0.001", "1025", "nan", "inf", "one", ""):
        with pytest.raises(InvalidArgument, match="--cpus"):
            parse_cpus(bad)


def test_memory_has_docker_minimum():
    from sampan.specgen.units import parse_memory
    assert parse_memory("6m") == 6 * 1024 * 1024
    with pytest.raises(InvalidArgument, match="minimum is 6m"):
        parse_memory("5m")
