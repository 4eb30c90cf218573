"""`update`'s limits: parsed as `run` parses them, Docker's rule on memory and swap."""

import pytest

from sampan.engine.options import UpdateOptions
from sampan.engine.update_limits import changed_limits
from sampan.errors import InvalidArgument


def test_only_what_is_given_changes():
    assert changed_limits({}, UpdateOptions()) == {}
    got = changed_limits({"memory": None}, UpdateOptions(memory="64m", cpus="0.5", pids_limit="20",
                                                         cpu_shares="512", blkio_weight="300"))
    assert got == {"memory": 64 << 20, "cpu_quota": 50_000, "cpus": "0.5", "pids_limit": 20,
                   "cpu_shares": 512, "blkio_weight": 300}
    assert changed_limits({}, UpdateOptions(pids_limit="-1")) == {"pids_limit": None}


def test_memory_above_the_swap_limit_needs_the_swap_too():
    config = {"memory": 64 << 20, "memory_swap": 128 << 20}
    with pytest.raises(InvalidArgument, match="update the memoryswap at the same time"):
        changed_limits(config, UpdateOptions(memory="256m"))
    got = changed_limits(config, UpdateOptions(memory="256m", memory_swap="512m"))
    assert got == {"memory": 256 << 20, "memory_swap": 512 << 20}
    assert changed_limits({"memory": 64 << 20, "memory_swap": -1}, UpdateOptions(memory="1g")) == {"memory": 1 << 30}


def test_bad_values_are_refused_with_the_flag():
    for opts, flag in ((UpdateOptions(memory="lots"), "--memory"), (UpdateOptions(cpus="-1"), "--cpus"),
                       (UpdateOptions(cpu_shares="1"), "--cpu-shares"),
                       (UpdateOptions(memory_reservation="1g"), "--memory-reservation")):
        with pytest.raises(InvalidArgument, match=flag):
            changed_limits({"memory": 64 << 20}, opts)
