"""The prunes as Docker's CLI prints them (docker/cli cli/command/*/prune.go: a section per kind,
each followed by an empty line, then "Total reclaimed space:" in decimal units) and their
--filter as moby applies it (until=, label=, label!=; volume prune all=)."""

import re
import time

import pytest


def _ids(sampan, *names):
    return [sampan.ok("inspect", "--format", "{{.Id}}", n).strip() for n in names]


def test_container_prune_prints_dockers_sections_and_the_space(sampan):
    sampan.ok("run", "--network", "none", "--name", "big", "busybox", "sh", "-c",
              "head -c 1500000 /dev/zero > /blob")
    [big] = _ids(sampan, "big")
    r = sampan("container", "prune", "-f")
    assert (r.rc, r.out, r.err) == (0, f"Deleted Containers:\n{big}\n\nTotal reclaimed space: 1.5MB\n", "")
    r = sampan("container", "prune", "-f")  # nothing left: no section, a zero total
    assert (r.rc, r.out) == (0, "Total reclaimed space: 0B\n")


def test_container_prune_label_and_until_filters(sampan):
    for name, labels in (("ca", ["--label", "keep"]), ("cb", ["--label", "tier=web"]), ("cc", [])):
        sampan.ok("create", "--network", "none", "--name", name, *labels, "busybox", "true")
    a, b, c = _ids(sampan, "ca", "cb", "cc")
    # until= a time before they were made: nothing is old enough (RFC 3339 date, Unix time, duration)
    for until in ("2000-01-01", "2000-01-01T00:00:00Z", "946684800", "1h"):
        r = sampan("container", "prune", "-f", "--filter", f"until={until}")
        assert (r.rc, r.out) == (0, "Total reclaimed space: 0B\n"), until
    r = sampan("container", "prune", "-f", "--filter", "label=tier=web")
    assert r.out == f"Deleted Containers:\n{b}\n\nTotal reclaimed space: 0B\n"
    r = sampan("container", "prune", "-f", "--filter", "label!=keep")
    assert r.out.startswith(f"Deleted Containers:\n{c}\n\n")
    future = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
    r = sampan("container", "prune", "-f", "--filter", f"until={future}")
    assert r.out.startswith(f"Deleted Containers:\n{a}\n\n")
    assert sampan.ok("ps", "-aq") == ""


@pytest.mark.parametrize("argv,message", [
    (["container", "prune", "-f", "--filter", "bogus=1"], "invalid filter 'bogus'"),
    (["container", "prune", "-f", "--filter", "until=1h", "--filter", "until=2h"],
     "more than one until filter specified"),
    (["container", "prune", "-f", "--filter", "until=yesterday"], "invalid time 'yesterday'"),
    (["volume", "prune", "-f", "--filter", "until=1h"], "invalid filter 'until'"),
    (["volume", "prune", "-f", "-a", "--filter", "all=1"],
     "conflicting options: cannot specify both --all and --filter all=1"),
    (["volume", "prune", "-f", "--filter", "all=maybe"], "all is true or false"),
    (["network", "prune", "-f", "--filter", "dangling=true"], "invalid filter 'dangling'"),
    (["system", "prune", "-f", "--volumes", "--filter", "until=1h"],
     'ERROR: The "until" filter is not supported with "--volumes"'),
    (["builder", "prune", "-f", "--filter", "label"],
     'invalid argument "label" for "--filter" flag: bad format of filter (expected name=value'),
])
def test_bad_prune_filters_are_refused_and_remove_nothing(sampan, argv, message):
    sampan.ok("create", "--network", "none", "--name", "stays", "busybox", "true")
    sampan.ok("volume", "create", "vol")
    r = sampan(*argv)
    assert r.rc == 125 and message in r.err and r.out == "" and r.err.count("\n") == 1, r
    assert sampan.ok("ps", "-aq") and sampan.ok("volume", "ls", "-q").split() == ["vol"]


def test_volume_prune_filters_and_space(sampan):
    sampan.ok("volume", "create", "--label", "team=blue", "blue")
    sampan.ok("volume", "create", "--label", "team=red", "red")
    sampan.ok("run", "--network", "none", "--rm", "-v", "blue:/v", "busybox", "sh", "-c",
              "head -c 2000000 /dev/zero > /v/data")
    sampan.ok("volume", "create", "plain")
    # named volumes go only with all (the flag, or the filter all=true)
    r = sampan("volume", "prune", "-f", "--filter", "label=team=blue")
    assert r.out == "Total reclaimed space: 0B\n"
    r = sampan("volume", "prune", "-f", "--filter", "all=true", "--filter", "label=team=blue")
    assert r.out == "Deleted Volumes:\nblue\n\nTotal reclaimed space: 2MB\n"
    r = sampan("volume", "prune", "-f", "-a", "--filter", "label!=team")
    assert r.out == "Deleted Volumes:\nplain\n\nTotal reclaimed space: 0B\n"
    assert sampan.ok("volume", "ls", "-q").split() == ["red"]


def test_network_prune_filters(sampan):
    sampan.ok("network", "create", "--label", "env=ci", "ci-net")
    sampan.ok("network", "create", "other-net")
    r = sampan("network", "prune", "-f", "--filter", "until=2000-01-01")
    assert (r.rc, r.out) == (0, "")  # Docker's network prune prints no total
    r = sampan("network", "prune", "-f", "--filter", "label=env=ci")
    assert (r.rc, r.out) == (0, "Deleted Networks:\nci-net\n\n")
    names = sampan.ok("network", "ls", "--format", "{{.Name}}").split()
    assert "other-net" in names and "ci-net" not in names
    assert sampan("network", "prune", "-f").out == "Deleted Networks:\nother-net\n\n"


def test_image_prune_label_filter_and_dockers_lines(sampan, busybox_tar):
    sampan.ok("import", "--change", "LABEL purpose=scratch", str(busybox_tar), "labelled:1")
    sampan.ok("import", str(busybox_tar), "plain:1")
    [labelled] = _ids(sampan, "labelled:1")
    r = sampan("image", "prune", "-f", "-a", "--filter", "label=purpose=scratch")
    assert r.rc == 0 and r.out.startswith(f"Deleted Images:\nuntagged: labelled:1\ndeleted: {labelled}\n"), r
    assert re.search(r"\n\nTotal reclaimed space: \d[\d.]*[kM]?B\n$", r.out), r.out
    repos = sampan.ok("images", "--format", "{{.Repository}}").split()
    assert "plain" in repos and "labelled" not in repos and "busybox" in repos


def test_system_prune_sections_in_dockers_order(sampan):
    sampan.ok("create", "--network", "none", "--name", "old", "busybox", "true")
    [cid] = _ids(sampan, "old")
    sampan.ok("network", "create", "lonely")
    sampan.ok("volume", "create", "--label", "x=1", "anon-looking")
    r = sampan("system", "prune", "-f", "--volumes")
    # the named volume stays (system prune --volumes takes anonymous ones only, as Docker 23+)
    assert r.rc == 0 and r.out == (f"Deleted Containers:\n{cid}\n\nDeleted Networks:\nlonely\n\n"
                                   "Total reclaimed space: 0B\n"), r
    r = sampan("system", "prune", "-f", "--filter", "label=nothing-has-this")
    assert r.out == "Total reclaimed space: 0B\n"


def test_builder_prune_ids_and_until(sampan, tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM busybox\nRUN echo one > /one\nRUN echo two > /two\n")
    sampan.ok("build", "-q", "--network", "none", "-t", "built:1", str(tmp_path), timeout=180)
    r = sampan("builder", "prune", "-f", "--filter", "until=2000-01-01")
    assert (r.rc, r.out) == (0, "Total reclaimed space: 0B\n")
    r = sampan("builder", "prune", "-f")
    head, _, tail = r.out.partition("\n\n")
    lines = head.splitlines()
    assert lines[0] == "Deleted build cache objects:" and len(lines) >= 3, r.out
    assert all(re.fullmatch(r"[0-9a-f]{64}", line) for line in lines[1:]), r.out
    assert tail == "Total reclaimed space: 0B\n"
    assert sampan("builder", "prune", "-f").out == "Total reclaimed space: 0B\n"
