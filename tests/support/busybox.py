"""Make a busybox root filesystem tar from Debian's busybox-static, no registry needed."""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
from pathlib import Path

BUSYBOX = "/bin/busybox"


def _applets() -> list[str]:
    out = subprocess.run([BUSYBOX, "--list-full"], check=True, capture_output=True, text=True).stdout
    return [a for a in out.split() if a and a != "bin/busybox"]


def _dir(tar: tarfile.TarFile, name: str, mode: int = 0o755) -> None:
    ti = tarfile.TarInfo(name)
    ti.type = tarfile.DIRTYPE
    ti.mode = mode
    tar.addfile(ti)


def _file(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    ti.mode = mode
    tar.addfile(ti, io.BytesIO(data))


PASSWD = (b"root:x:0:0:root:/root:/bin/sh\n"
          b"daemon:x:1:1:daemon:/usr/sbin:/bin/false\n"
          b"www-data:x:33:33:www-data:/var/www:/bin/false\n"
          b"nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
GROUP = (b"root:x:0:\ndaemon:x:1:\nwww-data:x:33:\nstaff:x:50:www-data\n"
         b"nogroup:x:65534:\n")


def write_busybox_tar(dest: Path | str) -> Path:
    """Write a tar of a minimal busybox rootfs (with /etc/passwd and /etc/group) to dest."""
    dest = Path(dest)
    with tarfile.open(dest, "w", format=tarfile.PAX_FORMAT) as tar:
        for d in ("bin", "sbin", "usr", "usr/bin", "usr/sbin", "etc", "root", "tmp",
                  "var", "var/www", "proc", "sys", "dev", "home"):
            _dir(tar, d, 0o1777 if d == "tmp" else 0o755)
        ti = tar.gettarinfo(BUSYBOX, arcname="bin/busybox")
        ti.uid = ti.gid = 0
        ti.uname = ti.gname = "root"
        with open(BUSYBOX, "rb") as f:
            tar.addfile(ti, f)
        for applet in _applets():
            applet = applet.lstrip("/")
            if applet == "bin/busybox":
                continue
            link = tarfile.TarInfo(applet)
            link.type = tarfile.SYMTYPE
            link.linkname = os.path.relpath("/bin/busybox", "/" + os.path.dirname(applet))
            tar.addfile(link)
        _file(tar, "etc/passwd", PASSWD)
        _file(tar, "etc/group", GROUP)
    return dest
