"""What `pull` and `push` print, as Docker's CLI prints it: progress on stdout, the full
reference last (alone with -q: scripts read it), "Using default tag", the push's digest line."""

import re

from tests.integration.engine.conftest import Sampan


def test_pull_and_push_print_what_docker_prints(sampan, tmp_path):
    from tests.unit.registry.registry_server import RegistryServer

    srv = RegistryServer(tmp_path / "registry").start()
    try:
        pushed = sampan("push", "busybox", f"{srv.host}/team/bb")
        assert pushed.rc == 0, pushed.err
        lines = pushed.out.splitlines()
        assert lines[0] == "Using default tag: latest"
        digest = re.fullmatch(r"latest: digest: (sha256:[0-9a-f]{64}) size: (\d+)", lines[-1]).group(1)
        q = sampan("push", "-q", "busybox", f"{srv.host}/team/bb:2")
        assert (q.rc, q.out) == (0, f"{srv.host}/team/bb:2\n")

        fresh = Sampan(tmp_path / "root", tmp_path / "run")  # no mounts or networks: tmp_path will do
        first = fresh("pull", f"{srv.host}/team/bb")
        assert first.rc == 0, first.err
        out = first.out.splitlines()
        assert out[0] == "Using default tag: latest"
        assert f"Digest: {digest}" in out and f"Status: Downloaded newer image for {srv.host}/team/bb:latest" in out
        assert out[-1] == f"{srv.host}/team/bb:latest"
        again = fresh("pull", "-q", f"{srv.host}/team/bb:latest")
        assert (again.rc, again.out, again.err) == (0, f"{srv.host}/team/bb:latest\n", "")
        by_digest = fresh("pull", f"{srv.host}/team/bb@{digest}")
        assert by_digest.rc == 0 and by_digest.out.splitlines()[-1] == f"{srv.host}/team/bb@{digest}"
        assert "Using default tag" not in by_digest.out
    finally:
        srv.stop()
        srv.wipe()
