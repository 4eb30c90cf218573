"""-v and --tmpfs parsed into mount plans, and the OCI mounts made of them (Docker's syntax)."""

import pytest

from sampan.engine.mounts import MountPlan, oci_mount, parse_tmpfs, parse_volume
from sampan.errors import InvalidArgument


def plan(p: MountPlan) -> tuple:
    return (p.kind, p.destination, p.source, p.readonly, p.options)


@pytest.mark.parametrize("spec, want", [
    ("/data", ("volume", "/data", "", False, [])),                       # anonymous
    ("/data/", ("volume", "/data", "", False, [])),
    ("vol:/data", ("volume", "/data", "vol", False, [])),
    ("vol:/data:ro", ("volume", "/data", "vol", True, [])),
    ("vol:/data:nocopy", ("volume", "/data", "vol", False, ["nocopy"])),
    ("/host:/c", ("bind", "/c", "/host", False, [])),
    ("/host:/c:ro,rshared", ("bind", "/c", "/host", True, ["rshared"])),
    ("/host:/c:rw,z", ("bind", "/c", "/host", False, [])),               # SELinux labels ignored
    ("./sub:/c", ("bind", "/c", "/work/sub", False, [])),
    ("..:/c", ("bind", "/c", "/", False, [])),
    ("/h:/a/../b", ("bind", "/b", "/h", False, [])),
])
def test_volume_specs(spec, want):
    assert plan(parse_volume(spec, cwd="/work")) == want


@pytest.mark.parametrize("spec, message", [
    ("data", "must be absolute"),
    ("vol:data", "must be absolute"),
    ("vol:/", "cannot mount over /"),
    ("/h:/a/..", "cannot mount over /"),
    ("a:b:c:d", "expected"),
    (":/data", "expected"),
    ("vol::ro", "expected"),
    ("vol:/d:bogus", "unknown option 'bogus'"),
    ("vol:/d:ro,rw", "both ro and rw"),
    ("bad name!:/d", "neither an absolute path nor a valid volume name"),
    ("x y:/d", "neither"),
    ("-v:/d", "neither"),
])
def test_bad_volume_specs(spec, message):
    with pytest.raises(InvalidArgument, match=message):
        parse_volume(spec, cwd="/work")


def test_tmpfs_specs():
    assert plan(parse_tmpfs("/run")) == ("tmpfs", "/run", "", False, [])
    assert plan(parse_tmpfs("/run:ro,size=64m,mode=1777")) == ("tmpfs", "/run", "", True,
                                                               ["ro", "size=64m", "mode=1777"])
    for bad in ("run", "/", "/run:size=lots", "/run:size=99999999999999999999", "/run:nr_inodes=1x"):
        with pytest.raises(InvalidArgument):
            parse_tmpfs(bad)


def test_plans_survive_the_record():
    p = parse_volume("/host:/c:ro,rslave", cwd="/")
    assert plan(MountPlan.from_json(p.to_json())) == plan(p)


def test_oci_bind_mount():
    assert oci_mount(parse_volume("/h:/c"), "/h") == {
        "destination": "/c", "type": "bind", "source": "/h", "options": ["rbind", "rprivate"]}
    assert oci_mount(parse_volume("/h:/c:ro,shared"), "/h")["options"] == ["rbind", "ro", "shared"]
    # a volume's source is its _data directory; nocopy is the engine's, not the kernel's
    m = oci_mount(parse_volume("v:/c:nocopy"), "/var/lib/sampan/volumes/v/_data")
    assert m["source"] == "/var/lib/sampan/volumes/v/_data" and m["options"] == ["rbind"]


def test_oci_tmpfs_mount_is_safe_unless_asked():
    assert oci_mount(parse_tmpfs("/t"), "")["options"] == ["nosuid", "nodev", "noexec"]
    assert oci_mount(parse_tmpfs("/t:ro,size=1m"), "")["options"] == [
        "nosuid", "nodev", "noexec", "ro", "size=1m"]
    assert oci_mount(parse_tmpfs("/t:exec"), "")["options"] == ["nosuid", "nodev", "exec"]
