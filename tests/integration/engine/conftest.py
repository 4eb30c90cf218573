import pytest

from tests.support.cli import Sampan


@pytest.fixture
def sampan(state_dirs, busybox_tar):
    """A sampan CLI on a private root with a `busybox` image imported."""
    root, runroot = state_dirs
    s = Sampan(root, runroot)
    s.ok("import", "--change", 'CMD ["sh"]', str(busybox_tar), "busybox")
    yield s
    s.cleanup()
