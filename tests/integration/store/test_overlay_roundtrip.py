"""Overlay-mount an imported image, change it, turn the upper dir into a layer, and check
the new image through a fresh overlay mount and from inside a chroot running busybox."""

import json
import os
import stat
import subprocess
import tarfile
from contextlib import contextmanager

REF_NAME = "org.opencontainers.image.ref.name"


@contextmanager
def overlay(lowers, merged, upper=None, work=None):
    opts = "lowerdir=" + ":".join(str(p) for p in lowers)
    if upper:
        opts += f",upperdir={upper},workdir={work}"
    merged.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "overlay", "overlay", "-o", opts, str(merged)], check=True)
    try:
        yield merged
    finally:
        subprocess.run(["umount", str(merged)], check=True)


def sh(root, script) -> str:
    return subprocess.run(["chroot", str(root), "/bin/sh", "-c", script], capture_output=True,
                          text=True, check=True).stdout


def make_changes(m):
    os.unlink(m / "bin/ls")                        # -> whiteout
    (m / "etc/passwd").write_text("root:x:0:0::/root:/bin/sh\n")  # copy-up, changed
    subprocess.run(["rm", "-rf", str(m / "var")], check=True)
    (m / "var").mkdir()                            # deleted then recreated -> opaque dir
    (m / "var/only").write_text("new")
    (m / "opt/app").mkdir(parents=True)
    tool = m / "opt/app/tool"
    tool.write_text("#!/bin/sh\necho tool\n")
    os.chown(tool, 1000, 1001)
    os.chmod(tool, 0o4755)
    os.link(tool, m / "opt/app/tool-alias")
    os.symlink("tool", m / "opt/app/link")
    os.setxattr(m / "opt/app/tool", "user.origin", b"test")
    os.utime(tool, (1_500_000_000, 1_500_000_000))


def test_upper_dir_to_layer_and_back(store, busybox_tar, tmp_path):
    with open(busybox_tar, "rb") as f:
        base = store.import_rootfs(f, "busybox")
    lowers = store.layer_dirs(base)
    upper, work = tmp_path / "upper", tmp_path / "work"
    upper.mkdir(), work.mkdir()
    with overlay(lowers, tmp_path / "m1", upper, work) as m:
        make_changes(m)
        assert "tool" in sh(m, "/opt/app/tool")
    assert stat.S_ISCHR(os.lstat(upper / "bin/ls").st_mode)  # the kernel's whiteout
    assert os.getxattr(upper / "var", "trusted.overlay.opaque") == b"y"

    layer = store.add_layer_from_dir(upper)
    assert store.add_layer_from_dir(upper) == layer  # reproducible: same dir, same blob
    with store.open_blob(layer.digest) as f, tarfile.open(fileobj=f, mode="r|gz") as tar:
        names = {ti.name: ti for ti in tar}
    assert "bin/.wh.ls" in names and "var/.wh..wh..opq" in names
    assert names["opt/app/tool-alias"].islnk() and names["opt/app/tool-alias"].linkname == "opt/app/tool"
    assert not any(n.startswith("var/.wh.") and n != "var/.wh..wh..opq" for n in names)

    info = store.write_image(dict(base.config), base.layers + [layer], "changed:1")
    dirs = store.layer_dirs("changed:1")
    assert len(dirs) == 2 and dirs[1] == lowers[0]  # top first; base layer shared
    with overlay(dirs, tmp_path / "m2") as m:
        assert sh(m, "ls /bin/ls 2>&1 || echo gone").strip().endswith("gone")
        assert sh(m, "cat /etc/passwd") == "root:x:0:0::/root:/bin/sh\n"
        assert sh(m, "ls -A /var") == "only\n"       # opaque: lower /var contents hidden
        assert sh(m, "/opt/app/link") == "tool\n"
        out = sh(m, "stat -c '%u %g %a %i %h %Y' /opt/app/tool /opt/app/tool-alias").split("\n")
        assert out[0].split()[:3] == ["1000", "1001", "4755"]
        assert out[0].split()[3] == out[1].split()[3] and out[0].split()[4] == "2"
        assert out[0].split()[5] == "1500000000"
        assert os.getxattr(m / "opt/app/tool", "user.origin") == b"test"
        assert sh(m, "echo ok") == "ok\n"

    # the whole image round trips through Docker's own whiteout convention
    assert store.resolve(info.id).repo_tags == ["changed:1"]
    assert store.add_layer_from_dir(tmp_path / "empty-upper-missing") is None
    (tmp_path / "empty").mkdir()
    assert store.add_layer_from_dir(tmp_path / "empty") is None


def run(*argv) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True)


def test_store_root_is_an_oci_layout_for_skopeo_and_umoci(store, busybox_tar, tmp_path):
    with open(busybox_tar, "rb") as f:
        info = store.import_rootfs(f, "busybox", ['CMD ["sh"]'])
    store.tag("busybox", "localhost:5000/team/app:1.0")
    root = store.paths.root
    for name in ("busybox:latest", "docker.io/library/busybox:latest", "localhost:5000/team/app:1.0"):
        r = run("skopeo", "inspect", f"oci:{root}:{name}")
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["Digest"] == info.manifest_digest
    r = run("skopeo", "inspect", "--config", f"oci:{root}:busybox:latest")
    assert json.loads(r.stdout)["config"]["Cmd"] == ["sh"]
    r = run("umoci", "ls", "--layout", str(root))
    assert r.returncode == 0, r.stderr
    assert {"busybox:latest", "docker.io/library/busybox:latest"} <= set(r.stdout.split())
    # skopeo copy re-verifies every blob digest
    r = run("skopeo", "copy", "-q", f"oci:{root}:busybox:latest", f"oci:{tmp_path / 'copy'}:bb")
    assert r.returncode == 0, r.stderr
    # umoci unpacks our layer into a runnable rootfs
    r = run("umoci", "unpack", "--image", f"{root}:busybox:latest", str(tmp_path / "bundle"))
    assert r.returncode == 0, r.stderr
    out = run("chroot", str(tmp_path / "bundle/rootfs"), "/bin/sh", "-c", "echo from-umoci")
    assert out.stdout == "from-umoci\n"
    store.remove("busybox")
    r = run("skopeo", "inspect", f"oci:{root}:busybox:latest")
    assert r.returncode != 0
    assert run("skopeo", "inspect", f"oci:{root}:localhost:5000/team/app:1.0").returncode == 0
