"""--memory-swap, --memory-reservation, --cpu-shares, --cpuset-*, --blkio-weight: parsing,
Docker's rules between them, and their place in the spec's linux.resources."""

import pytest

from sampan.errors import InvalidArgument
from sampan.specgen import units
from sampan.specgen.spec import _resources, SpecInputs
from sampan.runtime.cgroups.v2 import blkio_to_io_weight, shares_to_weight

M = 1 << 20


def test_memory_swap_is_memory_plus_swap():
    assert units.parse_memory_swap("128m", 64 * M) == 128 * M
    assert units.parse_memory_swap("64m", 64 * M) == 64 * M
    assert units.parse_memory_swap("-1", 64 * M) == -1
    with pytest.raises(InvalidArgument, match="cannot be smaller than --memory"):
        units.parse_memory_swap("32m", 64 * M)
    with pytest.raises(InvalidArgument, match="needs --memory"):
        units.parse_memory_swap("1g", None)
    with pytest.raises(InvalidArgument, match="--memory-swap"):
        units.parse_memory_swap("-2", 64 * M)


def test_memory_reservation_bounds():
    assert units.parse_memory_reservation("32m", 64 * M) == 32 * M
    assert units.parse_memory_reservation("1g", None) == 1 << 30
    for bad, memory in (("1m", None), ("128m", 64 * M), ("x", None)):
        with pytest.raises(InvalidArgument, match="--memory-reservation"):
            units.parse_memory_reservation(bad, memory)


def test_cpu_shares_and_blkio_weight_ranges():
    assert units.parse_cpu_shares("512") == 512
    assert units.parse_blkio_weight("10") == 10 and units.parse_blkio_weight("1000") == 1000
    for bad in ("1", "262145", "x", "1.5"):
        with pytest.raises(InvalidArgument, match="--cpu-shares"):
            units.parse_cpu_shares(bad)
    for bad in ("9", "1001", "-1"):
        with pytest.raises(InvalidArgument, match="--blkio-weight"):
            units.parse_blkio_weight(bad)


def test_id_lists():
    assert units.parse_id_list("0-2,5") == {0, 1, 2, 5}
    assert units.parse_id_list("3") == {3}
    for bad in ("", "a", "2-1", "1,", "-1", "0-99999999", "²", "1--2"):
        assert units.parse_id_list(bad) is None, bad


def test_cpuset_checked_against_online(tmp_path):
    online = tmp_path / "online"
    online.write_text("0-1\n")
    assert units.parse_cpuset("0,1", "--cpuset-cpus", str(online)) == "0,1"
    with pytest.raises(InvalidArgument, match=r"CPU 99 is not available on this host \(online: 0-1\)"):
        units.parse_cpuset("99", "--cpuset-cpus", str(online))
    with pytest.raises(InvalidArgument, match="memory node 1 is not available"):
        units.parse_cpuset("0-1", "--cpuset-mems", str(tmp_path / "none"))  # no NUMA dir: node 0 only
    with pytest.raises(InvalidArgument, match="expected a list"):
        units.parse_cpuset("0;1", "--cpuset-cpus", str(online))


def test_v2_conversions_as_runc():
    assert [shares_to_weight(s) for s in (2, 512, 1024, 262144)] == [1, 20, 39, 10000]
    assert [blkio_to_io_weight(w) for w in (10, 500, 1000)] == [1, 4950, 10000]


def _inputs(memory=None, limits=None):
    return SpecInputs(rootfs="/r", argv=["true"], env=[], cwd="/", user=None, hostname="h",
                      memory=memory, limits=limits)


def test_limits_in_linux_resources():
    res = _resources(_inputs(64 * M, {"memory_swap": -1, "memory_reservation": 32 * M, "cpu_shares": 512,
                                      "cpuset_cpus": "0-1", "cpuset_mems": "0", "blkio_weight": 300}))
    assert res["memory"] == {"limit": 64 * M, "swap": -1, "reservation": 32 * M}
    assert res["cpu"] == {"shares": 512, "cpus": "0-1", "mems": "0"}
    assert res["blockIO"] == {"weight": 300}
    plain = _resources(_inputs(64 * M))
    assert plain["memory"] == {"limit": 64 * M, "swap": 64 * M} and "cpu" not in plain and "blockIO" not in plain
    assert _resources(_inputs(None, {"memory_reservation": 32 * M}))["memory"] == {"reservation": 32 * M}
