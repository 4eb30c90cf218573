"""Restart policies and healthchecks through the API: both docker CLIs and docker-py."""

from __future__ import annotations

import json

import pytest

from tests.support.api import Service, docker_clis, request
from tests.support.polling import poll


@pytest.mark.parametrize("cli", docker_clis())
def test_docker_run_restart_and_update(service, cli):
    r = service.docker("run", "-d", "--name", "rp", "--restart", "on-failure:2", "busybox", "sh", "-c", "exit 3",
                       cli=cli)
    assert r.rc == 0, r.err

    def settled():
        out = service.docker("inspect", "-f", "{{.RestartCount}} {{.State.Status}} {{.State.ExitCode}}", "rp",
                             cli=cli).out.split()
        return out == ["2", "exited", "3"] and out
    assert poll(settled)
    pol = service.docker("inspect", "-f", "{{json .HostConfig.RestartPolicy}}", "rp", cli=cli).out
    assert json.loads(pol) == {"Name": "on-failure", "MaximumRetryCount": 2}
    r = service.docker("update", "--restart", "always", "rp", cli=cli)
    assert r.rc == 0 and r.out.strip() == "rp", r.err
    pol = service.docker("inspect", "-f", "{{.HostConfig.RestartPolicy.Name}}", "rp", cli=cli).out.strip()
    assert pol == "always"
    r = service.docker("run", "--rm", "--restart", "always", "busybox", "true", cli=cli)
    assert r.rc != 0 and "--restart" in r.err and "--rm" in r.err


@pytest.mark.parametrize("cli", docker_clis())
def test_docker_health_status(service, cli):
    r = service.docker("run", "-d", "--name", "hh", "--health-cmd", "echo up", "--health-interval", "100ms",
                       "busybox", "sleep", "100", cli=cli)
    assert r.rc == 0, r.err
    assert poll(lambda: service.docker("inspect", "-f", "{{.State.Health.Status}}", "hh", cli=cli).out.strip()
                == "healthy")
    assert "(healthy)" in service.docker("ps", "--format", "{{.Status}}", cli=cli).out
    log = json.loads(service.docker("inspect", "-f", "{{json .State.Health.Log}}", "hh", cli=cli).out)
    assert log[-1]["ExitCode"] == 0 and log[-1]["Output"] == "up\n"
    ids = service.docker("ps", "-q", "--filter", "health=healthy", cli=cli).out.split()
    if ids:  # the health filter belongs to ps filters (another part of issue 11)
        assert len(ids) == 1
    service.docker("rm", "-f", "hh", cli=cli)


def test_docker_py_restart_policy_and_healthcheck(service):
    client = service.client()
    try:
        c = client.containers.run("busybox", ["sh", "-c", "exit 5"], detach=True, name="pyrp",
                                  restart_policy={"Name": "on-failure", "MaximumRetryCount": 1})
        assert poll(lambda: (c.reload(), c.attrs["RestartCount"] == 1 and c.status == "exited")[1])
        assert c.attrs["HostConfig"]["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 1}
        h = client.containers.run("busybox", ["sleep", "100"], detach=True, name="pyhc",
                                  healthcheck={"test": ["CMD", "true"], "interval": 100_000_000})
        assert poll(lambda: (h.reload(), h.attrs["State"].get("Health", {}).get("Status") == "healthy")[1])
        assert h.attrs["Config"]["Healthcheck"]["Test"] == ["CMD", "true"]
        c.update(restart_policy={"Name": "unless-stopped"})
        c.reload()
        assert c.attrs["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
        for x in (c, h):
            x.remove(force=True)
    finally:
        client.close()


def test_hostile_policies_are_400(service):
    for body in (b'{"Image":"busybox","HostConfig":{"RestartPolicy":{"Name":"sometimes"}}}',
                 b'{"Image":"busybox","HostConfig":{"RestartPolicy":{"Name":"always","MaximumRetryCount":3}}}',
                 b'{"Image":"busybox","HostConfig":{"RestartPolicy":{"Name":7}}}',
                 b'{"Image":"busybox","Healthcheck":{"Test":["CMD-SHELL","true"],"Interval":-5}}',
                 b'{"Image":"busybox","Healthcheck":{"Test":["WHAT"]}}',
                 b'{"Image":"busybox","HostConfig":{"AutoRemove":true,"RestartPolicy":{"Name":"always"}}}'):
        status, _, answer = request(service, "POST", "/containers/create", body)
        assert status == 400, (body, answer)
    status, _, _ = request(service, "POST", "/containers/create?name=upd", b'{"Image":"busybox"}')
    assert status == 201
    for body in (b'{"RestartPolicy":"always"}', b'{"RestartPolicy":{"Name":"nope"}}'):
        assert request(service, "POST", "/containers/upd/update", body)[0] == 400


def test_service_start_restores_always_containers(sampan):
    sampan.ok("run", "-d", "--name", "boot", "--restart", "always", "busybox", "sleep", "100")
    sampan.ok("run", "-d", "--name", "keep", "--restart", "unless-stopped", "busybox", "sleep", "100")
    sampan.ok("stop", "-t", "0", "boot", "keep")
    (sampan.runroot / "restored-boot").unlink(missing_ok=True)  # as after a reboot: never restored
    svc = Service(sampan.root, sampan.runroot).start()
    try:
        # restore runs before the service listens
        assert sampan.ok("inspect", "-f", "{{.State.Status}}", "boot").strip() == "running"
        assert sampan.ok("inspect", "-f", "{{.State.Status}}", "keep").strip() == "exited"
    finally:
        log = svc.stop()
    assert "Traceback" not in log
    sampan.ok("stop", "-t", "0", "boot")
    svc = Service(sampan.root, sampan.runroot).start()  # again this boot: a user's stop holds
    try:
        assert sampan.ok("inspect", "-f", "{{.State.Status}}", "boot").strip() == "exited"
    finally:
        svc.stop()
