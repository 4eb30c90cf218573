"""A container-side attacker for the symlink-exchange race (CVE-2018-15664): a tiny
static C program that swaps pairs of names with renameat2(RENAME_EXCHANGE) in a
tight loop, so a name is a real directory (or file) one instant and a symlink to
the host's files the next, with no instant where it is missing."""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

FLIP_C = r"""
#define _GNU_SOURCE
#include <fcntl.h>
#include <unistd.h>
#include <sys/syscall.h>
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE 2
#endif
int main(int argc, char **argv) {
    if (argc < 3 || argc % 2 == 0)
        return 2;
    for (;;)
        for (int i = 1; i + 1 < argc; i += 2)
            syscall(SYS_renameat2, AT_FDCWD, argv[i], AT_FDCWD, argv[i + 1], RENAME_EXCHANGE);
}
"""


def build_flip(workdir: Path) -> Path:
    """Compile the flipper statically (it runs in a busybox root); skip without gcc."""
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc is needed to build the renameat2 flipper")
    src, out = workdir / "flip.c", workdir / "flip"
    src.write_text(FLIP_C)
    r = subprocess.run([gcc, "-static", "-O2", "-o", str(out), str(src)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot build a static flipper: {r.stderr.strip()[:200]}")
    return out


def image_tar(busybox_tar: Path, flip: Path, dest: Path) -> Path:
    """busybox's root plus /flip."""
    shutil.copyfile(busybox_tar, dest)
    with tarfile.open(dest, "a") as tar:
        ti = tar.gettarinfo(str(flip), arcname="flip")
        ti.uid = ti.gid = 0
        ti.uname = ti.gname = ""
        ti.mode = 0o755
        with open(flip, "rb") as f:
            tar.addfile(ti, f)
    return dest


class HostSecret:
    """A host directory that nothing may read or change: `secret` holds the token, and
    a second file is named after it. The token is random and never appears in what
    the container is told (its command names only the directory and `secret`), so
    the token in an output can only have come from the host."""

    def __init__(self, base: Path):
        self.token = "SENTINEL" + os.urandom(8).hex()
        self.dir = base / "hostdir"
        self.dir.mkdir()
        self.file = self.dir / "secret"
        self.file.write_text(self.token * 64)
        (self.dir / self.token).write_text("named after the token")
        os.chmod(self.file, 0o600)
        os.chmod(self.dir, 0o700)
        self.before = self.state()

    def state(self):
        st = os.lstat(self.file)
        return (sorted(os.listdir(self.dir)), self.file.read_text(), st.st_mode, st.st_uid,
                st.st_gid, st.st_ino, os.lstat(self.dir).st_mode)

    def assert_untouched(self) -> None:
        assert self.state() == self.before, "the host's sentinel directory was changed"

    def leaked_in(self, data: bytes | str) -> bool:
        token = self.token if isinstance(data, str) else self.token.encode()
        return token in data

    def leaked_in_tree(self, top: Path) -> list[str]:
        hits = []
        for dirpath, dirnames, filenames in os.walk(top):
            for name in dirnames + filenames:
                p = os.path.join(dirpath, name)
                if self.token in name:
                    hits.append(p)
                elif name in filenames and os.path.isfile(p) and not os.path.islink(p):
                    with open(p, "rb") as f:
                        if self.token.encode() in f.read():
                            hits.append(p)
        return hits
