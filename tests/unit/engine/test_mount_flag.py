"""--mount's CSV syntax (docker/cli opts/mount.go) and the daemon's checks of a Mount
object (moby's linux_parser), as sampan applies them to the CLI's and the API's mounts."""

import pytest
from hypothesis import given, strategies as st

from sampan.engine.mounts import mount_from_flag, oci_mount, parse_mount
from sampan.errors import InvalidArgument


def test_flag_fields_become_a_docker_mount(tmp_path):
    m = mount_from_flag(f"type=bind,source={tmp_path},target=/b,readonly,bind-propagation=rslave")
    assert m == {"Type": "bind", "Source": str(tmp_path), "Target": "/b", "ReadOnly": True,
                 "BindOptions": {"Propagation": "rslave"}}
    plan = parse_mount(m)
    assert oci_mount(plan, plan.source)["options"] == ["rbind", "ro", "rslave"]
    assert mount_from_flag("src=v,dst=/v,volume-nocopy") == {"Type": "volume", "Source": "v", "Target": "/v",
                                                             "VolumeOptions": {"NoCopy": True}}
    assert parse_mount("src=v,dst=/v,volume-nocopy=false").options == []
    t = parse_mount("type=tmpfs,destination=/t,tmpfs-size=64m,tmpfs-mode=700,ro=true")
    assert (t.kind, t.readonly, t.options) == ("tmpfs", True, [f"size={64 << 20}", "mode=700"])
    assert parse_mount('"type=volume","dst=/x"').kind == "volume"  # CSV quoting, as Docker


@pytest.mark.parametrize("spec,words", [
    ("", "value is empty"), ("type=bind,dst=/x", "field Source must not be empty"),
    ("type=bind,src=/does/not/exist,dst=/x", "bind source path does not exist: /does/not/exist"),
    ("src=v", "field Target must not be empty"), ("dst=/", "destination can't be '/'"),
    ("type=tmpfs,src=x,dst=/t", "field Source must not be specified"),
    ("type=bind,src=/tmp,dst=/t,volume-nocopy", "field VolumeOptions must not be specified"),
    ("type=npipe,dst=/t", 'invalid mount config for type "npipe"'), ("type=x,dst=/t", "mount type unknown"),
    ("dst=/t,ro=maybe", "invalid value for ro: maybe"), ("dst=/t,tmpfs-mode=9", "invalid value for tmpfs-mode"),
    ("dst=/t, src=x", "option should not have whitespace"), ("dst=/t,src= x", "value should not have whitespace"),
    ("dst=/t,src=", "value is empty"), ("dst=/t,foo=1", "unknown option"),
    ("type=volume,src=../up,dst=/v", "not a valid volume name"),
    ("type=volume,src=a/b,dst=/v", "not a valid volume name"),
])
def test_bad_mounts_in_dockers_words(spec, words):
    with pytest.raises(InvalidArgument) as e:
        parse_mount(spec)
    assert words in e.value.message and "\n" not in e.value.message


def test_bind_source_is_cleaned(tmp_path):
    (tmp_path / "real").mkdir()
    plan = parse_mount(f"type=bind,src={tmp_path}/gone/../real,dst=/b")
    assert plan.source == str(tmp_path / "real")


@given(st.text(max_size=60))
def test_any_flag_text_is_a_mount_or_one_line(text):
    try:
        plan = parse_mount(text)
    except InvalidArgument as e:
        assert e.message and "\n" not in e.message
    else:
        assert plan.destination.startswith("/") and ".." not in plan.destination.split("/")
        if plan.kind == "volume" and plan.source:
            assert "/" not in plan.source and plan.source not in (".", "..")


def test_api_nulls_are_unset_fields():
    """docker-compose 1.x sends every Mount field, null when unset."""
    plan = parse_mount({"Type": "tmpfs", "Source": None, "Target": "/t", "ReadOnly": None, "Consistency": None,
                        "BindOptions": None, "VolumeOptions": None, "TmpfsOptions": {"SizeBytes": None, "Mode": None}})
    assert (plan.kind, plan.readonly, plan.options) == ("tmpfs", False, [])
