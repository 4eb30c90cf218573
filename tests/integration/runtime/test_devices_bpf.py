"""The cgroup v2 device program on a real kernel: this host's cgroup2 mount (hybrid) runs it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sampan.runtime.cgroups.devices_bpf import attach
from tests.integration.runtime.bundle import token
from tests.support.forked import in_child

UNIFIED = Path("/sys/fs/cgroup/unified")
if (Path("/sys/fs/cgroup") / "cgroup.controllers").exists():
    UNIFIED = Path("/sys/fs/cgroup")


@pytest.mark.skipif(not (UNIFIED / "cgroup.procs").exists(), reason="no cgroup2 mount")
def test_bpf_device_rules_are_enforced_by_the_kernel():
    cg = UNIFIED / f"sampan-bpf-{token()}"
    cg.mkdir()
    try:
        attach(str(cg), [{"allow": False, "access": "rwm"},
                         {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
                         {"allow": True, "type": "c", "major": 1, "minor": 9, "access": "r"}])
        def try_devices() -> bytes:  # in a child: the test process stays out of the cgroup
            (cg / "cgroup.procs").write_text("0")
            results = []
            for path, mode in (("/dev/null", os.O_RDWR), ("/dev/zero", os.O_RDONLY),
                               ("/dev/urandom", os.O_RDONLY), ("/dev/urandom", os.O_WRONLY)):
                try:
                    os.close(os.open(path, mode))
                    results.append("ok")
                except PermissionError:
                    results.append("denied")
            return " ".join(results).encode()
        assert in_child(try_devices).decode().split() == ["ok", "denied", "ok", "denied"]
    finally:
        cg.rmdir()
