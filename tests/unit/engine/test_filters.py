"""engine/filters.py: Docker's filter rules, and a client's filter JSON as hostile input."""

import pytest

from sampan.engine import filters
from sampan.errors import InvalidArgument

PS = ("status", "label", "name")


def test_cli_list_and_api_map_parse_alike():
    assert filters.parse(["label=a", "label=b=c", "name=x"], PS, "ps") == \
        filters.parse({"label": ["a", "b=c"], "name": {"x": True, "y": False}}, PS, "ps") == \
        {"label": ["a", "b=c"], "name": ["x"]}


def test_unknown_key_is_dockers_error():
    with pytest.raises(InvalidArgument) as e:
        filters.parse(["bogus=1"], PS, "ps")
    assert e.value.message.startswith("invalid filter 'bogus': ") and e.value.exit_code == 125


@pytest.mark.parametrize("hostile", [
    [1, 2], [None], [["label", "x"]], {"label": 5}, {"label": None}, {"label": True},
    {"label": 1.5}, {"x" * 10000: ["y"]}, {"label": [{"a": 1}]} ,
])
def test_hostile_filter_json_is_a_clear_error_or_harmless(hostile):
    try:
        want = filters.parse(hostile, PS, "ps")
    except InvalidArgument as e:
        assert "\n" not in e.message and len(e.message) < 400
    else:  # only values of known keys survive, as strings
        assert set(want) <= set(PS) and all(isinstance(v, str) for vs in want.values() for v in vs)


def test_labels_all_must_match_key_or_key_value():
    labels = {"a": "1", "b": ""}
    assert filters.labels_match(labels, ["a"]) and filters.labels_match(labels, ["a=1", "b"])
    assert filters.labels_match(labels, ["b="])
    assert not filters.labels_match(labels, ["a=2"]) and not filters.labels_match(labels, ["a", "c"])
    assert not filters.labels_match(None, ["a"])


def test_reference_is_a_glob_over_repo_or_repo_tag():
    tags = ["busybox:latest", "localhost:5000/app:1"]
    assert filters.reference_match(tags, ["busy*"]) and filters.reference_match(tags, ["*:latest"])
    assert filters.reference_match(tags, ["localhost:5000/app"])
    assert not filters.reference_match(tags, ["app"]) and not filters.reference_match(tags, ["*:2"])


def test_port_filters_are_docker_port_ranges():
    assert filters.port_set(["80", "53/udp", "8000-8002/tcp"], "publish") == \
        {"80/tcp", "53/udp", "8000/tcp", "8001/tcp", "8002/tcp"}
    for bad in ("80:80", "x", "0", "70000", "90-80", "80/icmp", "1-" + "9" * 30, ""):
        with pytest.raises(InvalidArgument) as e:
            filters.port_set([bad], "expose")
        assert "\n" not in e.value.message and "expose" in e.value.message
