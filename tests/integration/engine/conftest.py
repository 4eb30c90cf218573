import pytest

from tests.support.cli import Sampan


def settle(sampan) -> None:
    """Wait until background network teardowns of this root are done."""
    from sampan.network import NetworkManager
    from sampan.state.db import Database
    from sampan.state.paths import Paths

    db = Database(Paths(sampan.root, sampan.runroot).db)
    try:
        NetworkManager(Paths(sampan.root, sampan.runroot), db).settle()
    finally:
        db.close()


def spare_veths(sampan) -> set[str]:
    """Host ends of the sandboxes prepared ahead of time (they belong to no container)."""
    from sampan.network import NetworkManager
    from sampan.network.netdb import SPARE
    from sampan.state.db import Database
    from sampan.state.paths import Paths

    db = Database(Paths(sampan.root, sampan.runroot).db)
    try:
        nm = NetworkManager(Paths(sampan.root, sampan.runroot), db)
        return {r["host_veth"] for r in nm.store.attachment_rows("state=?", (SPARE,))}
    finally:
        db.close()


def _network_teardown(root, runroot):
    """Wait for background CNI teardowns, then remove this root's bridges and networks."""
    from sampan.network import NetworkManager
    from sampan.state.db import Database
    from sampan.state.paths import Paths

    paths = Paths(root, runroot)
    if not paths.db.exists():
        return
    db = Database(paths.db)
    try:
        nm = NetworkManager(paths, db)
        nm.settle()
        bridges = [info.bridge for info in nm.list()]
        for info in nm.list():
            if info.name != "bridge":
                nm.remove(info.name)
        nm.destroy_default()
    finally:
        db.close()
    # CNI's per-container rules name their bridge: none of this root's may be left
    import subprocess
    rules = subprocess.run(["iptables-save"], capture_output=True, text=True).stdout
    leaked = [line for line in rules.splitlines() if any(f'name: \\"{b}\\"' in line for b in bridges)]
    assert not leaked, f"iptables rules left for this root's bridges: {leaked[:3]}"


@pytest.fixture
def sampan(state_dirs, busybox_tar):
    """A sampan CLI on a private root with a `busybox` image imported."""
    root, runroot = state_dirs
    s = Sampan(root, runroot)
    s.ok("import", "--change", 'CMD ["sh"]', str(busybox_tar), "busybox")
    yield s
    s.cleanup()
    _network_teardown(root, runroot)
