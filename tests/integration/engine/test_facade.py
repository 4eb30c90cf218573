"""The sealed facade end to end: verbs on many objects report per object (`rm aa nope bb`
removes aa and bb, names nope, exits 1), filters are the engine's, and the engine's
reports carry what the API server will send (Docker's JSON shapes)."""

import json

from sampan.engine import Engine
from sampan.engine.options import ListOptions, RemoveOptions
from sampan.errors import ContainerNotFound, Conflict, ImageNotFound


def _err_lines(r):
    return [line for line in r.err.splitlines() if line]


def test_rm_removes_what_it_can_and_names_what_it_could_not(sampan):
    sampan.ok("create", "--name", "aa", "busybox", "true")
    sampan.ok("create", "--name", "bb", "busybox", "true")
    r = sampan("rm", "aa", "nope", "bb")
    assert r.rc == 1
    assert r.out.split() == ["aa", "bb"]
    assert len(_err_lines(r)) == 1 and "nope" in r.err and "Traceback" not in r.err
    assert sampan.ok("ps", "-aq") == ""


def test_rm_of_a_running_container_is_refused_alone(sampan):
    sampan.ok("run", "-d", "--name", "live", "busybox", "sleep", "100")
    sampan.ok("create", "--name", "idle", "busybox", "true")
    r = sampan("rm", "live", "idle")
    assert r.rc == 1 and r.out.split() == ["idle"] and "live" in r.err
    assert sampan.ok("ps", "-a", "--format", "{{.Names}}").split() == ["live"]


def test_rmi_many_reports_each(sampan):
    sampan.ok("tag", "busybox", "x:1")
    sampan.ok("tag", "busybox", "y:1")
    r = sampan("rmi", "x:1", "nope:1", "y:1")
    assert r.rc == 1
    assert r.out.splitlines() == ["Untagged: x:1", "Untagged: y:1"]
    assert len(_err_lines(r)) == 1 and "nope:1" in r.err
    assert sampan.ok("images", "--format", "{{.Repository}}:{{.Tag}}").split() == ["busybox:latest"]


def test_volume_and_network_rm_report_each(sampan):
    for v in ("v1", "v2"):
        sampan.ok("volume", "create", v)
    r = sampan("volume", "rm", "v1", "nope", "v2")
    assert r.rc == 1 and r.out.split() == ["v1", "v2"] and "nope" in r.err
    assert sampan.ok("volume", "ls", "-q") == ""
    sampan.ok("network", "create", "n1")
    sampan.ok("network", "create", "n2")
    r = sampan("network", "rm", "n1", "nope", "n2")
    assert r.rc == 1 and r.out.split() == ["n1", "n2"] and "nope" in r.err
    assert sampan.ok("network", "ls", "--format", "{{.Name}}").split() == []


def test_filters_of_images_volumes_and_networks(sampan):
    sampan.ok("build", "-q", "--network=none", "-t", "labelled:1", "--label", "tier=web", "-",
              input=b"FROM busybox\nLABEL kind=demo\n")
    fmt = ["--format", "{{.Repository}}:{{.Tag}}"]
    assert sampan.ok("images", *fmt, "-f", "label=kind=demo").split() == ["labelled:1"]
    assert sampan.ok("images", *fmt, "-f", "reference=busy*").split() == ["busybox:latest"]
    assert sampan.ok("images", *fmt, "labelled").split() == ["labelled:1"]
    assert sampan.ok("images", "-q", "-f", "dangling=true") == ""
    sampan.ok("volume", "create", "--label", "keep=yes", "kept")
    sampan.ok("volume", "create", "spare")
    sampan.ok("create", "--name", "user", "-v", "kept:/data", "busybox", "true")
    assert sampan.ok("volume", "ls", "-q", "-f", "dangling=true").split() == ["spare"]
    assert sampan.ok("volume", "ls", "-q", "-f", "label=keep").split() == ["kept"]
    assert sampan.ok("volume", "ls", "-q", "-f", "name=sp").split() == ["spare"]
    sampan.ok("network", "create", "--label", "team=a", "front")
    names = ["--format", "{{.Name}}"]
    assert sampan.ok("network", "ls", *names, "-f", "label=team=a").split() == ["front"]
    assert sampan.ok("network", "ls", *names, "-f", "name=fro").split() == ["front"]
    for argv in (("images", "-f", "color=red"), ("volume", "ls", "-f", "dangling"),
                 ("network", "ls", "-f", "shape=round"), ("ps", "-f", "status=sleepy")):
        r = sampan(*argv)
        # Docker's words: "invalid filter 'color'", or for no "=" the flag's "bad format of filter"
        assert r.rc == 125 and len(_err_lines(r)) == 1 and ("invalid filter" in r.err or
                                                            "bad format of filter" in r.err), argv


def test_engine_reports_are_structured(sampan):
    sampan.ok("tag", "busybox", "two:1")
    sampan.ok("create", "--name", "c1", "--label", "role=db", "-v", "dbdata:/data", "--network", "none",
              "busybox", "true")
    engine = Engine(str(sampan.root), str(sampan.runroot))
    try:
        [c] = engine.containers.list(ListOptions(all=True, filters={"label": ["role=db"]}))
        assert (c.name, c.state, c.status) == ("c1", "created", "Created")
        d = c.to_docker()
        assert d["Names"] == ["/c1"] and d["Labels"] == {"role": "db"} and d["Ports"] == []
        assert [(m["Type"], m["Name"], m["Destination"]) for m in d["Mounts"]] == [("volume", "dbdata", "/data")]
        assert d["HostConfig"] == {"NetworkMode": "none"} and "none" in d["NetworkSettings"]["Networks"]
        assert engine.containers.list(ListOptions(all=True, filters={"label": ["role=web"]})) == []
        [img] = engine.images.list(ListOptions(filters={"reference": ["two"]}))
        # as Docker: a reference filter shows the matching tags only
        assert img.containers == 1 and img.to_docker()["RepoTags"] == ["two:1"]
        # the image is used: one tag of two only untags; the last one is refused
        reports = engine.images.remove(["two:1", "busybox", "missing"])
        assert reports[0].to_docker() == [{"Untagged": "two:1"}]
        assert isinstance(reports[1].error, Conflict) and "c1" in reports[1].error.message
        assert isinstance(reports[2].error, ImageNotFound)
        [gone, nope] = engine.containers.remove(["c1", "nope"], RemoveOptions(volumes=True))
        assert gone.ok and gone.name == "c1" and len(gone.id) == 64
        assert isinstance(nope.error, ContainerNotFound)
        [done] = engine.images.remove(["busybox"])
        assert done.untagged == ["busybox:latest"] and done.deleted[0] == img.id
        assert [i for d in done.to_docker() for i in d] == ["Untagged"] + ["Deleted"] * len(done.deleted)
        assert engine.images.list() == []
    finally:
        engine.ctx.db.close()


def test_inspect_through_the_facade(sampan):
    sampan.ok("volume", "create", "vol")
    info = json.loads(sampan.ok("inspect", "--type", "volume", "vol"))[0]
    assert info["Name"] == "vol" and info["Driver"] == "local"
    sampan.ok("network", "create", "insp")
    net = json.loads(sampan.ok("network", "inspect", "insp"))[0]
    assert net["Name"] == "insp" and net["Driver"] == "bridge" and net["Containers"] == {}
    assert net["Created"].endswith("Z")


def test_ps_and_images_filters_by_relation(sampan):
    sampan.ok("tag", "busybox", "other:1")
    sampan.ok("build", "-q", "--network=none", "-t", "newer:1", "-", input=b"FROM busybox\nLABEL n=1\n")
    sampan.ok("create", "--name", "first", "--network", "none", "-v", "fv:/data", "busybox", "true")
    sampan.ok("create", "--name", "second", "newer:1", "true")
    sampan.ok("create", "--name", "third", "--network", "none", "busybox", "true")

    def names(*filters):
        argv = ["ps", "-a", "--format", "{{.Names}}"]
        for f in filters:
            argv += ["-f", f]
        return sampan.ok(*argv).split()

    # newer:1 is built FROM busybox: its container has busybox as an ancestor too, as in Docker
    assert names("ancestor=busybox") == ["third", "second", "first"]
    assert names("ancestor=other:1") == ["third", "second", "first"]  # the same image by another name
    assert names("ancestor=newer:1") == ["second"]
    assert names("ancestor=unknown:1") == []
    assert names("network=none") == ["third", "first"]
    assert names("volume=fv") == names("volume=/data") == ["first"]
    assert names("before=third") == ["second", "first"]
    assert names("since=first") == ["third", "second"]
    assert names("since=first", "before=third") == ["second"]
    fmt = ["--format", "{{.Repository}}:{{.Tag}}"]
    assert sampan.ok("images", *fmt, "-f", "since=busybox").split() == ["newer:1"]
    assert sorted(sampan.ok("images", *fmt, "-f", "before=newer:1").split()) == ["busybox:latest", "other:1"]
    r = sampan("ps", "-a", "-f", "before=nosuch")
    assert r.rc == 1 and "nosuch" in r.err and "Traceback" not in r.err  # No such container, as Docker
