"""A build step's upper dir is taken as its layer's unpacked dir (no extraction of the tar
just written): what a container of the image sees must be what the same image shows once
its layers are unpacked from their tars (saved and loaded into another root)."""

import shutil
import tempfile
from pathlib import Path

from tests.integration.build.test_cli_build import cli, write  # noqa: F401  (fixture)
from tests.support import leaks
from tests.support.cli import Sampan

LISTING = ("find / -xdev \\( -path /proc -o -path /sys -o -path /dev -o -path /etc/hosts "
           "-o -path /etc/hostname -o -path /etc/resolv.conf \\) -prune -o -print | sort | "
           "while read -r f; do stat -c '%n %a %u:%g %F %s' \"$f\"; "
           "[ -f \"$f\" ] && [ ! -L \"$f\" ] && md5sum < \"$f\"; done; true")


def test_adopted_layers_show_what_their_tars_hold(cli, tmp_path):
    write(cli, {"Dockerfile": (
        "FROM busybox\n"
        "RUN mkdir -p /d/sub && echo a > /d/a && echo b > /d/sub/b && ln -s /d/a /d/link && "
        "chmod 0700 /d/sub && chown 5:6 /d/a\n"
        "COPY files /d/copied/\n"
        "RUN rm /d/a && rm -r /d/sub && mkdir /d/sub && echo new > /d/sub/c && rm /bin/vi\n"
        "WORKDIR /made/here\n"),
        "files/x.txt": "x\n", "files/deep/y.txt": "y\n"})
    assert cli("build", "-q", "--network=none", "-t", "adopt:1", str(cli.ctx)).rc == 0
    here = cli.ok("run", "--rm", "--network=none", "adopt:1", "sh", "-c", LISTING)
    assert "/d/copied/deep/y.txt" in here and "/d/a " not in here and "/d/sub/b" not in here
    archive = tmp_path / "img.tar"
    cli.ok("save", "-o", str(archive), "adopt:1")
    base = Path(tempfile.mkdtemp(prefix="sampan-test-adopt-"))
    other = Sampan(base / "root", base / "run")
    try:
        other.ok("load", "-i", str(archive))
        there = other.ok("run", "--rm", "--network=none", "adopt:1", "sh", "-c", LISTING)
        other.cleanup()
    finally:
        leaks.release_layer_images(str(base))
        shutil.rmtree(base, ignore_errors=True)
    assert here == there
