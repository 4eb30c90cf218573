import pytest

from tests.integration.engine.conftest import sampan  # noqa: F401  (a root with busybox)
from tests.support.api import Service, no_service_process_left


@pytest.fixture
def service(sampan):  # noqa: F811
    """`sampan system service` on the test's root (busybox imported); the sampan CLI on the
    same root is `service.cli`. Containers are removed afterwards by the sampan fixture."""
    svc = Service(sampan.root, sampan.runroot).start()
    svc.cli = sampan
    yield svc
    log = svc.stop()
    assert "Traceback" not in log, f"the service failed a request with a bug:\n{log}"


@pytest.fixture
def no_process_outlives_the_service(sampan):  # noqa: F811
    """Use before `service` (it is then torn down after it): nothing the service forked may
    be left once it stopped."""
    yield
    no_service_process_left(sampan.root)

