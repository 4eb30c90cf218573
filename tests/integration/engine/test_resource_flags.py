"""--memory-swap, --memory-reservation, --cpu-shares, --cpuset-cpus/-mems, --blkio-weight:
each read back from inside the container's own cgroup (v1 here, v2 in scripts/test-vm's
guest), under the native runtime and runc, and shown by `inspect` as Docker shows them."""

import json

import pytest

from sampan.runtime.cgroups import blkio_weight_file
from sampan.runtime.cgroups.v2 import blkio_to_io_weight, shares_to_weight
from tests.support import cgroups

MIB = 1 << 20
FLAGS = ["--network", "none", "--memory", "64m", "--memory-swap", "128m", "--memory-reservation", "32m",
         "--cpu-shares", "512", "--cpuset-cpus", "0", "--cpuset-mems", "0"]


def _expected() -> dict[str, str]:
    if cgroups.V2:  # swap alone; shares as weight; memory.low for the reservation
        return {"memory.max": str(64 * MIB), "memory.swap.max": str(64 * MIB), "memory.low": str(32 * MIB),
                "cpu.weight": str(shares_to_weight(512)), "cpuset.cpus": "0", "cpuset.mems": "0"}
    want = {"memory/memory.limit_in_bytes": str(64 * MIB), "memory/memory.soft_limit_in_bytes": str(32 * MIB),
            "cpu/cpu.shares": "512", "cpuset/cpuset.cpus": "0", "cpuset/cpuset.mems": "0"}
    if (cgroups.ROOT / "memory" / "memory.memsw.limit_in_bytes").exists():
        want["memory/memory.memsw.limit_in_bytes"] = str(128 * MIB)
    return want


@pytest.mark.parametrize("runtime", ["native", "runc"])
def test_resource_flags_seen_in_own_cgroup(sampan, runtime):
    want = _expected()
    flags = list(FLAGS)
    weight_file = blkio_weight_file()
    if weight_file:  # this host's kernel (no BFQ, no iocost) takes none; the v2 guest may
        flags += ["--blkio-weight", "300"]
        name = weight_file if cgroups.V2 else "blkio/" + weight_file
        want[name] = str(300 if weight_file != "io.weight" else blkio_to_io_weight(300))
    script = "cd /sys/fs/cgroup && for f in " + " ".join(want) + "; do echo $f=$(cat $f); done"
    out = sampan.ok("run", "--name", "lim", "--runtime", runtime, *flags, "busybox", "sh", "-c", script)
    seen = dict(line.split("=", 1) for line in out.splitlines())
    for name, value in want.items():
        # io.weight and io.bfq.weight read back as "default N"
        assert seen[name].split()[-1] == value, (name, out)
    host = json.loads(sampan.ok("inspect", "lim"))[0]["HostConfig"]
    assert {k: host[k] for k in ("Memory", "MemorySwap", "MemoryReservation", "CpuShares", "CpusetCpus",
                                 "CpusetMems")} == {
        "Memory": 64 * MIB, "MemorySwap": 128 * MIB, "MemoryReservation": 32 * MIB, "CpuShares": 512,
        "CpusetCpus": "0", "CpusetMems": "0"}
    assert host["BlkioWeight"] == (300 if weight_file else 0)
    sampan.ok("rm", "lim")


def test_unlimited_swap_and_defaults_in_inspect(sampan):
    out = sampan.ok("run", "--rm", "--network", "none", "--memory", "64m", "--memory-swap", "-1", "busybox", "sh",
                    "-c", "cat /sys/fs/cgroup/" + ("memory.swap.max" if cgroups.V2 else
                                                   "memory/memory.memsw.limit_in_bytes 2>/dev/null || echo none"))
    assert out.strip() in (("max",) if cgroups.V2 else ("9223372036854771712", "none")), out
    sampan.ok("create", "--name", "plain", "busybox", "true")
    host = json.loads(sampan.ok("inspect", "plain"))[0]["HostConfig"]
    assert (host["MemorySwap"], host["MemoryReservation"], host["CpuShares"], host["CpusetCpus"],
            host["CpusetMems"], host["BlkioWeight"]) == (0, 0, 0, "", "", 0)
    sampan.ok("rm", "plain")


def test_bad_resource_values_are_one_line_errors(sampan):
    online = open("/sys/devices/system/cpu/online").read().strip()
    for args, words in (
            (["--memory", "64m", "--memory-swap", "32m"], ["--memory-swap", "smaller than --memory"]),
            (["--memory-swap", "1g"], ["--memory-swap needs --memory"]),
            (["--memory", "64m", "--memory-reservation", "128m"], ["--memory-reservation"]),
            (["--cpu-shares", "1"], ["--cpu-shares"]), (["--cpu-shares", "x"], ["--cpu-shares"]),
            (["--cpuset-cpus", "99"], ["--cpuset-cpus", "CPU 99 is not available", online]),
            (["--cpuset-cpus", "1-0"], ["--cpuset-cpus", "expected a list"]),
            (["--cpuset-mems", "7"], ["--cpuset-mems", "memory node 7"]),
            (["--blkio-weight", "5"], ["--blkio-weight"])):
        r = sampan("run", "--rm", *args, "busybox", "true")
        assert r.rc == 125, (args, r.err)
        assert r.err.count("\n") == 1 and all(w in r.err for w in words), (args, r.err)
    assert sampan("ps", "-aq").out == ""
