"""The engine hands the runtime an overlay mount as root.path: writes land in the upper dir."""

from __future__ import annotations

import os
import stat
import subprocess
import tarfile

from tests.integration.runtime.bundle import default_spec, token, write_spec
from tests.integration.runtime.conftest import exit_code, read_all
from sampan.runtime.base import Stdio


def test_overlay_rootfs_writes_go_to_the_upper_dir(h, busybox_tar):
    base = h.base / f"ovl-{token()}"
    lower, upper, work, merged = (base / n for n in ("lower", "upper", "work", "bundle/rootfs"))
    for d in (lower, upper, work, merged):
        d.mkdir(parents=True)
    with tarfile.open(busybox_tar) as tar:
        tar.extractall(lower, numeric_owner=True)
    subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                    f"lowerdir={lower},upperdir={upper},workdir={work}", str(merged)], check=True)
    try:
        cid = "t" + token()
        spec = default_spec(["sh", "-c", "echo hi > /etc/written-inside; rm /bin/vi; grep ' / ' /proc/self/mountinfo"], cid)
        write_spec(base / "bundle", spec)
        r, w = os.pipe()
        created = h.rt.create(cid, base / "bundle", Stdio(stdout=w, stderr=w))
        os.close(w)
        h.cids.append(cid)
        h.rt.start(cid)
        _, status = os.waitpid(created.pid, 0)
        out = read_all(r)
        assert exit_code(status) == 0, out
        assert "overlay" in out
        assert (upper / "etc" / "written-inside").read_text() == "hi\n"
        assert (lower / "bin" / "vi").is_symlink()  # the lower layer is untouched
        st = os.stat(upper / "bin" / "vi", follow_symlinks=False)
        assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0  # overlayfs's whiteout for the removed file
        h.rt.delete(cid)
    finally:
        subprocess.run(["umount", str(merged)], check=True)
