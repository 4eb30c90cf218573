"""docker-py 7 (`docker.DockerClient`) drives sampan: the common flow of a test suite or
a script, unchanged."""

from __future__ import annotations


import pytest

from tests.support.net import free_port



pytestmark = pytest.mark.usefixtures("no_process_outlives_the_service")



def test_ping_version_info(service):
    client = service.client()
    try:
        assert client.ping() is True
        v = client.version()
        assert v["ApiVersion"] and v["Os"] == "linux" and v["Version"]
        assert any(c.get("Name") == "Engine" for c in v.get("Components", []))
        info = client.info()
        assert info["OSType"] == "linux"
        assert isinstance(info["Containers"], int) and isinstance(info["Images"], int)
    finally:
        client.close()


def test_run_detached_reload_attrs_stop_remove(service):
    client = service.client()
    port = free_port()
    try:
        c = client.containers.run("busybox", ["sleep", "300"], detach=True, name="pyflow",
                                  ports={"8080/tcp": port}, environment={"GREETING": "hello"},
                                  labels={"suite": "docker-py", "role": "web"})
        c.reload()
        assert c.status == "running"
        assert c.name == "pyflow" and c.id.startswith(c.short_id)
        attrs = c.attrs
        assert attrs["State"]["Running"] is True and attrs["State"]["Pid"] > 0
        assert "GREETING=hello" in attrs["Config"]["Env"]
        assert attrs["Config"]["Labels"] == {"suite": "docker-py", "role": "web"}
        assert attrs["Config"]["Image"] == "busybox"
        assert attrs["HostConfig"]["PortBindings"]["8080/tcp"][0]["HostPort"] == str(port)
        assert c.ports["8080/tcp"][0]["HostPort"] == str(port)
        assert c.labels == {"suite": "docker-py", "role": "web"}

        listed = client.containers.list(filters={"label": "suite=docker-py"})
        assert [x.id for x in listed] == [c.id]
        assert client.containers.list(filters={"label": "suite=other"}) == []
        assert [x.id for x in client.containers.list(filters={"name": "pyflow"})] == [c.id]
        assert client.containers.get("pyflow").id == c.id

        c.stop(timeout=1)
        c.reload()
        assert c.status == "exited"
        assert client.containers.list(filters={"label": "suite=docker-py"}) == []
        assert [x.id for x in client.containers.list(all=True, filters={"status": "exited"})] == [c.id]
        c.remove()
        assert client.containers.list(all=True) == []
    finally:
        client.close()


def test_errors_are_docker_py_exceptions(service):
    import docker.errors
    client = service.client()
    try:
        with pytest.raises(docker.errors.NotFound):
            client.containers.get("no-such-container")
        c = client.containers.create("busybox", ["true"], name="twice")
        with pytest.raises(docker.errors.APIError) as e:
            client.containers.create("busybox", ["true"], name="twice")
        assert e.value.status_code == 409
        c.remove()
    finally:
        client.close()


def test_run_to_completion_returns_the_exit_code(service):
    """containers.run without detach waits, then reads the logs: the wait part is here."""
    client = service.client()
    try:
        c = client.containers.run("busybox", ["sh", "-c", "exit 3"], detach=True)
        assert c.wait(timeout=30)["StatusCode"] == 3
        c.remove()
    finally:
        client.close()


def test_a_container_knows_its_image(service):
    client = service.client()
    try:
        c = client.containers.create("busybox", ["true"])
        assert any(t.startswith("busybox") for t in c.image.tags)
        c.remove()
    finally:
        client.close()


def test_run_attached_returns_the_output(service):
    client = service.client()
    try:
        assert client.containers.run("busybox", ["echo", "hi"], remove=True) == b"hi\n"
    finally:
        client.close()
