"""Filters as the CLI and the API give them, and reports in Docker's JSON shapes."""

import pytest

from sampan.engine import filters
from sampan.engine.reports import (ContainerSummary, ImagePruneReport, ImageRemoveReport,
                                   NetworkEndpoint, NetworkReport, PortReport, RemoveReport,
                                   VolumeReport)
from sampan.errors import InvalidArgument, NotFound


def test_cli_and_api_filters_parse_alike():
    allowed = ("name", "label", "dangling")
    cli = filters.parse(["name=web", "name=db", "label=a=1"], allowed, "ps")
    api = filters.parse({"name": ["web", "db"], "label": ["a=1"]}, allowed, "ps")
    old_api = filters.parse({"name": {"web": True, "db": True, "x": False}, "label": {"a=1": True}},
                            allowed, "ps")
    assert cli == api == old_api == {"name": ["web", "db"], "label": ["a=1"]}
    assert filters.parse(None, allowed, "ps") == {}


@pytest.mark.parametrize("bad", [["nokey"], ["color=red"], {"color": ["red"]}])
def test_unknown_or_malformed_filters_are_refused(bad):
    with pytest.raises(InvalidArgument) as e:
        filters.parse(bad, ("name",), "volume ls")
    assert "volume ls supports name=" in e.value.message


def test_boolean_and_label_filters():
    assert filters.boolean({"dangling": ["true"]}, "dangling") is True
    assert filters.boolean({"dangling": ["0"]}, "dangling") is False
    assert filters.boolean({}, "dangling") is None
    with pytest.raises(InvalidArgument):
        filters.boolean({"dangling": ["maybe"]}, "dangling")
    with pytest.raises(InvalidArgument):
        filters.boolean({"dangling": ["true", "false"]}, "dangling")
    labels = {"tier": "web", "env": "prod"}
    assert filters.labels_match(labels, ["tier", "env=prod"])
    assert not filters.labels_match(labels, ["tier", "env=dev"])  # every label must match
    assert not filters.labels_match(None, ["tier"])


def test_reference_filter_globs_repo_or_tag():
    tags = ["busybox:latest", "localhost:5000/app:1"]
    assert filters.reference_match(tags, ["busybox"])
    assert filters.reference_match(tags, ["busy*"])
    assert filters.reference_match(tags, ["localhost:5000/app"])
    assert filters.reference_match(tags, ["*/app:1"])
    assert not filters.reference_match(tags, ["app"])
    assert not filters.reference_match(tags, ["busybox:1"])
    assert filters.reference_match(["localhost:5000/app"], ["localhost:5000/app"])  # no tag


def test_image_remove_report_is_dockers_delete_response():
    r = ImageRemoveReport(ref="app", untagged=["app:latest"], deleted=["sha256:aa", "sha256:bb"])
    assert r.ok
    assert r.to_docker() == [{"Untagged": "app:latest"}, {"Deleted": "sha256:aa"}, {"Deleted": "sha256:bb"}]
    prune = ImagePruneReport(images=[r], space_reclaimed=10)
    assert prune.to_docker()["ImagesDeleted"][0] == {"Untagged": "app:latest"}
    assert ImagePruneReport().to_docker() == {"ImagesDeleted": None, "SpaceReclaimed": 0}
    failed = RemoveReport(ref="nope", error=NotFound("no such container: nope"))
    assert not failed.ok and failed.error.exit_code == 1  # Docker: "No such ..." exits 1


def test_summaries_in_dockers_shapes():
    c = ContainerSummary(id="c" * 64, name="web", image="busybox", image_id="sha256:1", command="sh",
                         created="2024-01-02T03:04:05Z", state="running", status="Up 1 second",
                         exit_code=None, ports=[PortReport(80, 8080, "0.0.0.0", "tcp")],
                         labels={"a": "1"}, network="bridge")
    d = c.to_docker()
    assert d["Names"] == ["/web"] and d["Created"] == 1704164645
    assert d["Ports"] == [{"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"}]
    v = VolumeReport(name="data", driver="local", mountpoint="/x/_data", created="t", labels={},
                     anonymous=False).to_docker()
    assert v["Name"] == "data" and v["Labels"] is None and v["Scope"] == "local"
    n = NetworkReport(id="n" * 64, name="front", driver="bridge", subnet="10.1.0.0/24", gateway="10.1.0.1",
                      internal=False, labels={}, containers=[NetworkEndpoint("c" * 64, "web", "10.1.0.2/24", "m")])
    nd = n.to_docker()
    assert nd["IPAM"]["Config"] == [{"Subnet": "10.1.0.0/24", "Gateway": "10.1.0.1"}]
    assert nd["Containers"]["c" * 64]["IPv4Address"] == "10.1.0.2/24"
