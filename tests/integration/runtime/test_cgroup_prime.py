"""prime() rewrites the caller's own pid into the cgroup it is in: on the real kernel that
must change nothing about where the caller is."""

from __future__ import annotations

import time

import pytest

from sampan.runtime.cgroups.prime import own_procs_file, prime
from tests.support.forked import in_child

pytestmark = pytest.mark.root


def test_prime_leaves_the_caller_in_its_cgroups():
    if own_procs_file() is None:
        pytest.skip("no writable cgroup hierarchy here")

    def check() -> bytes:  # in a child of its own, so the test process never has the thread
        before = open("/proc/self/cgroup").read()
        prime()
        time.sleep(0.2)  # the thread's write waits one RCU grace period (~10 ms), then lands
        after = open("/proc/self/cgroup").read()
        return b"same" if before == after else f"moved:\n{before}\n{after}".encode()
    assert in_child(check) == b"same"
