import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from tests.support import leaks
from tests.support.busybox import write_busybox_tar

IS_ROOT = os.geteuid() == 0

# Every CLI a test starts runs in its own process: no warm zygote may outlive a test.
# tests/integration/engine/test_zygote.py turns it back on for its own commands.
os.environ["SAMPAN_NO_ZYGOTE"] = "1"

# The C idle monitor is compiled once per host into a cache (engine/cmonitor_build.py): the
# run's own cache, made by the controller (xdist workers inherit its environment) and shared
# by every state root of the run, instead of the host's /var/cache/sampan/libexec.
if "SAMPAN_LIBEXEC_CACHE" not in os.environ:
    os.environ["SAMPAN_LIBEXEC_CACHE"] = os.path.join(tempfile.mkdtemp(prefix="sampan-test-libexec-"), "libexec")
    _OWN_LIBEXEC_CACHE = os.path.dirname(os.environ["SAMPAN_LIBEXEC_CACHE"])
else:
    _OWN_LIBEXEC_CACHE = None


def pytest_unconfigure(config):
    if _OWN_LIBEXEC_CACHE and not hasattr(config, "workerinput"):  # the controller made it
        shutil.rmtree(_OWN_LIBEXEC_CACHE, ignore_errors=True)


def pytest_collection_modifyitems(config, items):
    skip = pytest.mark.skip(reason="needs root")
    for item in items:
        if "integration" in str(item.fspath) and not IS_ROOT:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def busybox_tar(tmp_path_factory) -> Path:
    """One busybox rootfs tar per test run (per xdist worker)."""
    return write_busybox_tar(tmp_path_factory.mktemp("busybox") / "busybox.tar")


@pytest.fixture(autouse=True)
def _layer_images_released(request):
    """After a test with a tmp_path, the layer images that stores under it keep mounted
    (store/erofs_mount.py) are unmounted, so no test leaves a mount behind."""
    yield
    tmp = request.node.funcargs.get("tmp_path") if hasattr(request.node, "funcargs") else None
    if tmp is not None:
        leaks.release_layer_images(str(tmp) + "/")


@pytest.fixture(scope="session", autouse=True)
def _session_layer_images_released(tmp_path_factory):
    """And at the end, those of stores made for a module or the session (tmp_path_factory)."""
    yield
    leaks.release_layer_images(str(tmp_path_factory.getbasetemp()) + "/")


@pytest.fixture
def state_dirs():
    """A private (root, runroot) pair under /tmp with a marker in the path; checked for leaks."""
    base = Path(tempfile.mkdtemp(prefix="sampan-test-"))
    root, runroot = base / "root", base / "run"
    yield root, runroot
    # A monitor may still be releasing mounts for a moment after its client returned
    # (it answers first, then cleans up): a real leak is still there seconds later.
    # Under load a background teardown (which then makes a spare sandbox) can take
    # seconds: wait for it, since removing its root under it would strand that sandbox.
    deadline = time.monotonic() + 30
    while True:
        leaks.release_layer_images(str(base))
        after = leaks.snapshot(str(base))
        if not (after["mounts"] or after["processes"]) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    # Mounts and processes are named by this test's private paths. Links, netns and
    # iptables rules are global (other tests run in parallel): network tests check
    # their own names with tests.support.leaks.snapshot.
    problems = {k: v for k, v in after.items() if k in ("mounts", "processes") and v}
    shutil.rmtree(base, ignore_errors=True)
    assert not problems, f"test leaked host state: {problems}"


@pytest.fixture(scope="session", autouse=True)
def _rt_budget_at_start():
    from tests.support.cgroups import remember_rt_budget
    remember_rt_budget()


@pytest.fixture
def rt_budget():
    """For tests that run real-time containers: the RT runtime the engine gives sampan's
    parent cgroup (as Docker's daemon keeps one) is taken back afterwards."""
    from tests.support.cgroups import rt_budget_restored
    with rt_budget_restored():
        yield
