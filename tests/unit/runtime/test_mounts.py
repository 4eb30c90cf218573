import os

import pytest

from sampan.runtime.mountopts import (MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_PRIVATE, MS_RDONLY,
                                      MS_REC, MS_REMOUNT, MS_SLAVE, parse_options)
from sampan.runtime.rootfs import RootfsBuilder, secure_join
from sampan.runtime.syscalls import RecordingSyscalls


def test_parse_options_flags_data_and_propagation():
    o = parse_options(["nosuid", "noexec", "ro", "mode=755", "size=65536k", "rslave"])
    assert o.flags == MS_NOSUID | MS_NOEXEC | MS_RDONLY
    assert o.data_str == "mode=755,size=65536k"
    assert o.propagation == [MS_SLAVE | MS_REC]
    assert parse_options(["ro", "rw"]).flags == 0
    assert parse_options(["rbind"]).is_bind and parse_options(["rbind"]).flags & MS_REC


def test_secure_join_never_escapes_the_root(tmp_path):
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    os.symlink("/../../../../etc", root / "abs")
    os.symlink("../../../..", root / "etc" / "up")
    assert secure_join(str(root), "/abs/passwd") == str(root / "etc" / "passwd")
    assert secure_join(str(root), "/etc/up/x") == str(root / "x")
    assert secure_join(str(root), "/../../tmp") == str(root / "tmp")


def builder(tmp_path, spec, v2=False):
    rootfs = tmp_path / "rootfs"
    rootfs.mkdir(exist_ok=True)
    sys = RecordingSyscalls()
    # a container's own cgroup namespace, as every spec sampan writes without --cgroupns host
    spec.setdefault("linux", {}).setdefault("namespaces", [{"type": "cgroup"}])
    return sys, RootfsBuilder(sys, spec, str(rootfs), {"memory": "memory", "systemd": "none,name=systemd"}, v2)


def test_prepare_makes_root_private_binds_rootfs_then_mounts_in_order(tmp_path):
    spec = {"mounts": [
        {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid"]},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["mode=755"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["newinstance", "ptmxmode=0666"]},
        {"destination": "/data", "type": "bind", "source": str(tmp_path), "options": ["rbind", "ro"]},
    ]}
    sys, b = builder(tmp_path, spec)
    b.prepare()
    mounts = [c for c in sys.calls if c[0] == "mount"]
    root = str(tmp_path / "rootfs")
    assert mounts[0] == ("mount", None, "/", None, MS_PRIVATE | MS_REC, None)
    assert mounts[1] == ("mount", root, root, None, MS_BIND | MS_REC, None)
    assert mounts[2] == ("mount", "proc", root + "/proc", "proc", MS_NOSUID, None)
    assert mounts[3] == ("mount", "tmpfs", root + "/dev", "tmpfs", 0, "mode=755")
    assert mounts[4][1:4] == ("devpts", root + "/dev/pts", "devpts")
    assert mounts[5] == ("mount", str(tmp_path), root + "/data", None, MS_BIND | MS_REC, None)
    assert mounts[6][1:3] == (None, root + "/data") and mounts[6][4] & (MS_RDONLY | MS_REMOUNT | MS_BIND) == \
        MS_RDONLY | MS_REMOUNT | MS_BIND
    nodes = {os.path.basename(c[1]) for c in sys.calls if c[0] == "mknod"}
    assert nodes == {"null", "zero", "full", "random", "urandom", "tty"}
    assert os.readlink(root + "/dev/ptmx") == "pts/ptmx"
    assert os.readlink(root + "/dev/fd") == "/proc/self/fd"


def test_no_devices_when_dev_is_a_bind_mount(tmp_path):
    spec = {"mounts": [{"destination": "/dev", "type": "bind", "source": "/dev", "options": ["rbind"]}]}
    sys, b = builder(tmp_path, spec)
    b.prepare()
    assert "mknod" not in sys.names()


def test_cgroup_v1_mounts_a_tmpfs_and_one_hierarchy_each_read_only(tmp_path):
    spec = {"mounts": [{"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["ro"]}]}
    sys, b = builder(tmp_path, spec)
    b.prepare()
    mounts = [c for c in sys.calls if c[0] == "mount"][2:]
    dest = str(tmp_path / "rootfs/sys/fs/cgroup")
    assert mounts[0][1:4] == ("tmpfs", dest, "tmpfs") and not mounts[0][4] & MS_RDONLY
    assert mounts[1] == ("mount", "cgroup", dest + "/memory", "cgroup",
                         MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "memory")
    assert mounts[2][5] == "none,name=systemd"
    assert mounts[3][4] & MS_RDONLY and mounts[3][4] & MS_REMOUNT


def test_cgroup_v2_is_one_mount(tmp_path):
    spec = {"mounts": [{"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": []}]}
    sys, b = builder(tmp_path, spec, v2=True)
    b.prepare()
    assert [c[3] for c in sys.calls if c[0] == "mount"][2:] == ["cgroup2"]


def test_finalize_masks_and_readonly(tmp_path, monkeypatch):
    d = tmp_path / "dir"
    d.mkdir()
    f = tmp_path / "file"
    f.write_text("x")
    spec = {"root": {"readonly": True},
            "linux": {"maskedPaths": [str(d), str(f), str(tmp_path / "missing")], "readonlyPaths": [str(d)]}}
    sys, b = builder(tmp_path, spec)
    b.finalize()
    mounts = [c for c in sys.calls if c[0] == "mount"]
    assert mounts[0][1:5] == (str(d), str(d), None, MS_BIND | MS_REC)
    assert mounts[1][4] & MS_RDONLY and mounts[1][4] & MS_REMOUNT
    assert mounts[2][1:4] == ("tmpfs", str(d), "tmpfs")
    assert mounts[3][1:3] == ("/dev/null", str(f))
    assert mounts[4] == ("mount", None, "/", None, MS_BIND | MS_REMOUNT | MS_RDONLY, None)
    assert len(mounts) == 5  # the missing path is skipped


def test_cgroup_mounts_can_wait_until_after_pivot_unless_something_is_beneath(tmp_path):
    cg = {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["ro"]}
    proc = {"destination": "/proc", "type": "proc", "source": "proc"}
    sys, b = builder(tmp_path, {"mounts": [proc, cg]})
    assert b.can_defer_cgroup()
    b.prepare(defer_cgroup=True)
    assert all(c[3] != "cgroup" for c in sys.calls if c[0] == "mount")
    assert b.deferred == [cg]
    _, b2 = builder(tmp_path, {"mounts": [proc, cg, {"destination": "/sys/fs/cgroup/extra", "type": "tmpfs"}]})
    assert not b2.can_defer_cgroup()


def test_deferred_cgroup_mounts_land_under_the_new_root(tmp_path, monkeypatch):
    cg = {"destination": "/sys/fs/cgroup", "type": "cgroup2", "source": "cgroup", "options": []}
    sys, b = builder(tmp_path, {"mounts": [cg]}, v2=True)
    b.prepare(defer_cgroup=True)
    made = []
    monkeypatch.setattr(os, "makedirs", lambda p, exist_ok=False: made.append(p))
    b.mount_deferred()
    assert made == ["/sys/fs/cgroup"]
    assert sys.calls[-1][1:4] == ("cgroup2", "/sys/fs/cgroup", "cgroup2")


@pytest.mark.parametrize("v2", [False, True])
def test_host_cgroupns_binds_only_the_containers_own_group(tmp_path, v2):
    spec = {"mounts": [{"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
                        "options": ["ro", "nosuid"]}],
            "linux": {"namespaces": [{"type": "mount"}], "cgroupsPath": "/sampan/ID"}}
    sys, b = builder(tmp_path, spec, v2)
    assert not b.can_defer_cgroup()  # the host's dirs are out of reach after pivot_root
    b.prepare()
    binds = [c for c in sys.calls if c[0] == "mount" and c[1] and c[1].startswith("/sys/fs/cgroup")]
    want = ["/sys/fs/cgroup/sampan/ID"] if v2 else [f"/sys/fs/cgroup/{h}/sampan/ID" for h in ("memory", "systemd")]
    assert [c[1] for c in binds] == want
    assert not [c for c in sys.calls if c[0] == "mount" and c[3] in ("cgroup", "cgroup2")]
    # each bind made read-only, as the mount asked
    remounts = [c for c in sys.calls if c[0] == "mount" and c[1] is None and c[4] & MS_REMOUNT and c[4] & MS_RDONLY]
    assert len(remounts) >= len(want)
