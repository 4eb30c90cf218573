"""Issue 11: --volumes-from, --expose, --domainname and --link, each checked from inside real
containers and in inspect as Docker shows them; and their hostile inputs."""

import json

import pytest

NONE = ["--network", "none"]


def inspect(sampan, name) -> dict:
    return json.loads(sampan.ok("inspect", name))[0]


def test_volumes_from_shares_volumes_and_binds(sampan, tmp_path):
    (tmp_path / "hostfile").write_text("from-host")
    sampan.ok("create", "--name", "donor", *NONE, "-v", "data:/data", "-v", "/anon",
              "-v", f"{tmp_path}:/bound:ro", "busybox", "true")
    out = sampan.ok("run", "--name", "user", *NONE, "--volumes-from", "donor", "busybox", "sh", "-c",
                    "echo shared > /data/f; echo anon > /anon/g; cat /bound/hostfile; echo; "
                    "touch /bound/x 2>/dev/null && echo rw || echo ro")
    assert out.split() == ["from-host", "ro"]
    # the donor sees what the user wrote: the same volumes, at the same paths
    out = sampan.ok("run", "--rm", *NONE, "--volumes-from", "donor:ro", "busybox", "sh", "-c",
                    "cat /data/f /anon/g; touch /data/y 2>/dev/null && echo rw || echo ro")
    assert out.split() == ["shared", "anon", "ro"]
    info = inspect(sampan, "user")
    assert info["HostConfig"]["VolumesFrom"] == ["donor"]
    assert info["HostConfig"]["Binds"] is None  # the shared mounts are not the user's -v
    by_dest = {m["Destination"]: m for m in info["Mounts"]}
    assert set(by_dest) == {"/data", "/anon", "/bound"}
    assert by_dest["/data"]["Name"] == "data" and by_dest["/data"]["RW"] is True
    assert by_dest["/bound"]["Type"] == "bind" and by_dest["/bound"]["RW"] is False
    assert by_dest["/anon"]["Name"] == {m["Destination"]: m for m in inspect(sampan, "donor")["Mounts"]}[
        "/anon"]["Name"]


def test_own_mount_wins_over_volumes_from(sampan):
    sampan.ok("create", "--name", "donor", *NONE, "-v", "one:/data", "busybox", "true")
    sampan.ok("run", "--rm", *NONE, "-v", "one:/data", "busybox", "sh", "-c", "echo one > /data/f")
    out = sampan.ok("run", "--rm", *NONE, "--volumes-from", "donor", "-v", "two:/data", "busybox",
                    "sh", "-c", "cat /data/f 2>/dev/null || echo empty")
    assert out.strip() == "empty"


def test_removed_donor_leaves_its_volumes_in_use(sampan):
    sampan.ok("create", "--name", "donor", *NONE, "-v", "keep:/data", "busybox", "true")
    sampan.ok("create", "--name", "user", *NONE, "--volumes-from", "donor", "busybox", "true")
    sampan.ok("rm", "donor")
    r = sampan("volume", "rm", "keep")
    assert r.rc != 0 and "in use" in r.err, r.err
    sampan.ok("rm", "user")
    sampan.ok("volume", "rm", "keep")


def test_volumes_from_unknown_container_and_bad_modes(sampan):
    r = sampan("run", "--rm", *NONE, "--volumes-from", "nope", "busybox", "true")
    assert r.rc == 125 and "No such container: nope" in r.err and r.err.count("\n") == 1, r.err
    sampan.ok("create", "--name", "donor", *NONE, "-v", "/x", "busybox", "true")
    for spec, words in (("donor:z", "invalid mode: z"), ("donor:rshared", "invalid mode: rshared"),
                        ("donor:nocopy", "invalid mode: nocopy"), ("", "cannot be an empty string"),
                        (":ro", "CONTAINER[:ro|rw]")):
        r = sampan("run", "--rm", *NONE, "--volumes-from", spec, "busybox", "true")
        assert r.rc == 125 and words in r.err and r.err.count("\n") == 1, (spec, r.err)
    # a hostile reference is a lookup, never a pattern
    r = sampan("run", "--rm", *NONE, "--volumes-from", "%", "busybox", "true")
    assert r.rc == 125 and "No such container" in r.err
