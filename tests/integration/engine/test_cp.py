"""`sampan cp` through the CLI: Docker's destination rules both ways, `-` tar streams,
-a, -L, running and stopped containers, volumes and bind mounts at their container
paths, read-only mounts, and one-line errors with exit 1."""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
from pathlib import Path

import pytest

SETUP = ("mkdir -p /d/sub && echo a > /d/a && echo b > /d/sub/b && ln -s /d/a /lnk && "
         "ln -s /d /dlnk && echo f > /f && chown 1000:1001 /d/a && cp /bin/busybox /suid && "
         "chmod 4755 /suid && mknod /d/null c 1 3")


@pytest.fixture(params=["running", "stopped"])
def ctr(request, sampan):
    """A container `cx` holding /d (a, sub/b), /f, /lnk -> /d/a, /dlnk -> /d, /suid."""
    if request.param == "running":
        sampan.ok("run", "-d", "--name", "cx", "--network", "none", "busybox", "sh", "-c",
                  SETUP + " && touch /ready && exec sleep 1000")
        for _ in range(200):
            if sampan("exec", "cx", "test", "-e", "/ready").rc == 0:
                break
    else:
        sampan.ok("run", "--name", "cx", "--network", "none", "busybox", "sh", "-c", SETUP)
    return request.param


def ctr_tree(sampan, path: str) -> dict[str, tarfile.TarInfo]:
    """The container's `path` as `cp c:PATH -` streams it (names -> headers)."""
    data = subprocess.run(sampan.argv("cp", f"cx:{path}", "-"), capture_output=True,
                          env=sampan.env(), check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {m.name: m for m in tar.getmembers()}


class Snapshot:
    """The container's whole root as `cp cx:/ -` streams it."""

    def __init__(self, sampan):
        data = subprocess.run(sampan.argv("cp", "cx:/", "-"), capture_output=True,
                              env=sampan.env(), check=True).stdout
        self.tar = tarfile.open(fileobj=io.BytesIO(data))
        self.members = {m.name[2:]: m for m in self.tar.getmembers()}  # "./x" -> "x"
        self.names = list(self.members)

    def __getitem__(self, name: str) -> tarfile.TarInfo:
        return self.members[name]

    def read(self, name: str) -> bytes:
        return self.tar.extractfile(self.members[name]).read()


def ctr_read(sampan, path: str) -> bytes:
    data = subprocess.run(sampan.argv("cp", f"cx:{path}", "-"), capture_output=True,
                          env=sampan.env(), check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        m = tar.next()
        return tar.extractfile(m).read()


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    """Relative local paths: run the CLI from tmp_path (with this tree's sampan first)."""
    repo = str(Path(__file__).resolve().parents[3])
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [repo, os.environ.get("PYTHONPATH")])))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def one_line_error(r, rc: int = 1, text: str | None = None) -> None:
    assert r.rc == rc, (r.rc, r.err)
    assert r.err.count("\n") == 1 and "Traceback" not in r.err and "internal error" not in r.err, r.err
    if text:
        assert text in r.err, r.err


# ---- out of the container --------------------------------------------------
def test_cp_out_follows_dockers_destination_rules(sampan, ctr, in_tmp):
    tmp_path = in_tmp
    sampan.ok("cp", "cx:/f", "new")                     # file -> new name
    assert (tmp_path / "new").read_text() == "f\n"
    (tmp_path / "dir").mkdir()
    sampan.ok("cp", "cx:f", "dir")                      # file -> into a dir (no leading / needed)
    assert (tmp_path / "dir" / "f").read_text() == "f\n"
    (tmp_path / "old").write_text("old contents, longer than the new\n")
    sampan.ok("cp", "cx:/f", "old")                     # file -> over a file
    assert (tmp_path / "old").read_text() == "f\n"
    one_line_error(sampan("cp", "cx:/f", "missing/"), text="must exist")
    sampan.ok("cp", "cx:/d", "newdir")                  # dir -> new name: its contents
    assert sorted(os.listdir(tmp_path / "newdir")) == ["a", "sub"]  # no device node on the host
    sampan.ok("cp", "cx:/d", "dir")                     # dir -> into a dir
    assert (tmp_path / "dir" / "d" / "sub" / "b").read_text() == "b\n"
    (tmp_path / "into").mkdir()
    sampan.ok("cp", "cx:/d/.", "into")                  # dir/. -> its contents into a dir
    assert sorted(os.listdir(tmp_path / "into")) == ["a", "sub"]
    one_line_error(sampan("cp", "cx:/d", "old"), text="cannot copy a directory to a file")
    one_line_error(sampan("cp", "cx:/nope", "x"), text="No such container:path: cx:/nope")
    one_line_error(sampan("cp", "cx:/f/", "x"), text="No such container:path: cx:/f/")
    one_line_error(sampan("cp", "cx:/f", str(tmp_path / "no" / "such" / "x")), text="does not exist")


def test_cp_out_links_owners_and_privileges(sampan, ctr, tmp_path):
    sampan.ok("cp", "cx:/lnk", str(tmp_path / "l"))     # a symlink is copied as a symlink
    assert os.readlink(tmp_path / "l") == "/d/a"
    sampan.ok("cp", "-L", "cx:/lnk", str(tmp_path / "t"))  # -L: what it points to, in the container
    assert (tmp_path / "t").read_text() == "a\n" and not (tmp_path / "t").is_symlink()
    (tmp_path / "in").mkdir()
    sampan.ok("cp", "-L", "cx:/lnk", str(tmp_path / "in"))  # under the link's own name
    assert (tmp_path / "in" / "lnk").read_text() == "a\n"
    sampan.ok("cp", "cx:/dlnk/", str(tmp_path / "viaslash"))  # a trailing / follows the link
    assert (tmp_path / "viaslash" / "sub" / "b").read_text() == "b\n"
    # owners: the caller's, unless -a keeps the container's
    sampan.ok("cp", "cx:/d/a", str(tmp_path / "mine"))
    sampan.ok("cp", "-a", "cx:/d/a", str(tmp_path / "theirs"))
    assert (os.stat(tmp_path / "mine").st_uid, os.stat(tmp_path / "mine").st_gid) == (os.getuid(), os.getgid())
    assert (os.stat(tmp_path / "theirs").st_uid, os.stat(tmp_path / "theirs").st_gid) == (1000, 1001)
    # a set-id bit owned by the caller would be the container's gift to anyone: dropped without -a
    sampan.ok("cp", "cx:/suid", str(tmp_path / "suid"))
    assert os.stat(tmp_path / "suid").st_mode & 0o7777 == 0o755
    sampan.ok("cp", "-a", "cx:/suid", str(tmp_path / "suid-a"))
    assert os.stat(tmp_path / "suid-a").st_mode & 0o7777 == 0o4755


def test_cp_out_as_a_tar_stream(sampan, ctr):
    tree = ctr_tree(sampan, "/d")
    assert {"d", "d/a", "d/sub", "d/sub/b", "d/null"} <= set(tree)
    assert (tree["d/a"].uid, tree["d/a"].gid) == (1000, 1001) and tree["d/a"].uname == ""
    assert tree["d/null"].ischr()  # the stream says what is there; only the host copy skips it
    assert set(ctr_tree(sampan, "/d/.")) >= {".", "./a", "./sub/b"}
    assert list(ctr_tree(sampan, "/f")) == ["f"]
    assert ctr_tree(sampan, "/lnk")["lnk"].linkname == "/d/a"  # the link itself
    r = subprocess.run(sampan.argv("cp", "-L", "cx:/lnk", "-"), capture_output=True, env=sampan.env())
    member = tarfile.open(fileobj=io.BytesIO(r.stdout)).next()
    assert (member.name, member.isreg()) == ("lnk", True)


# ---- into the container ----------------------------------------------------
def test_cp_in_follows_dockers_destination_rules(sampan, ctr, in_tmp):
    tmp_path = in_tmp
    (tmp_path / "h").write_text("host\n")
    (tmp_path / "hd" / "s").mkdir(parents=True)
    (tmp_path / "hd" / "x").write_text("x\n")
    (tmp_path / "hd" / "s" / "y").write_text("y\n")
    os.chown(tmp_path / "hd" / "x", 1234, 1235)
    sampan.ok("cp", "h", "cx:/newfile")                 # file -> new name
    sampan.ok("cp", "h", "cx:/d")                       # file -> into a dir
    sampan.ok("cp", "h", "cx:/f")                       # file -> over a file
    one_line_error(sampan("cp", "h", "cx:/nodir/"), text="must exist")
    sampan.ok("cp", "hd", "cx:/newdir")                 # dir -> new name
    sampan.ok("cp", "hd", "cx:/d")                      # dir -> into a dir
    sampan.ok("cp", "hd/.", "cx:/d/sub")                # dir/. -> contents into a dir
    sampan.ok("cp", "-a", "hd", "cx:/kept")             # -a: the source's owners
    sampan.ok("cp", "h", "cx:/lnk")                     # a symlink destination: written at its target
    (tmp_path / "hl").symlink_to(tmp_path / "h")
    sampan.ok("cp", "hl", "cx:/copied-link")           # a local symlink is copied as a symlink
    sampan.ok("cp", "-L", "hl", "cx:/d")               # -L: its target, under the link's name
    one_line_error(sampan("cp", "hd", "cx:/f"), text="cannot copy a directory to a file")
    one_line_error(sampan("cp", "h", "cx:/no/such/dir/x"), text="No such container:path: cx:/no/such/dir")
    one_line_error(sampan("cp", "nothere", "cx:/"), text="nothere")
    root = Snapshot(sampan)  # one read of the whole container
    assert root.read("newfile") == root.read("d/h") == root.read("f") == b"host\n"
    assert root.read("d/a") == b"host\n"               # through /lnk -> /d/a
    assert root["lnk"].issym()
    assert root["copied-link"].issym() and root["copied-link"].linkname == str(tmp_path / "h")
    assert root.read("d/hl") == b"host\n"
    assert {"newdir/x", "newdir/s/y", "d/hd/s/y", "d/sub/x", "d/sub/s/y", "d/sub/b"} <= set(root.names)
    assert (root["newdir/x"].uid, root["newdir/x"].gid) == (0, 0)  # root's, without -a
    assert (root["kept/x"].uid, root["kept/x"].gid) == (1234, 1235)


def test_cp_in_from_a_tar_stream(sampan, ctr):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in (("t/one", b"1\n"), ("t/two", b"2\n")):
            ti = tarfile.TarInfo(name)
            ti.size, ti.uid, ti.gid = len(data), 77, 78
            tar.addfile(ti, io.BytesIO(data))
    sampan.ok("cp", "-", "cx:/d", input=buf.getvalue())
    tree = ctr_tree(sampan, "/d/t")
    assert (tree["t/one"].uid, tree["t/one"].gid) == (0, 0)
    sampan.ok("cp", "-a", "-", "cx:/", input=buf.getvalue())
    t = ctr_tree(sampan, "/t")
    assert (t["t/two"].uid, t["t/two"].gid) == (77, 78)
    assert ctr_read(sampan, "/t/two") == b"2\n"
    one_line_error(sampan("cp", "-", "cx:/f", input=buf.getvalue()), text="must be a directory")
    one_line_error(sampan("cp", "-", "cx:/d", input=b"not a tar at all" * 64), text="tar")
    evil = io.BytesIO()
    with tarfile.open(fileobj=evil, mode="w") as tar:
        ti = tarfile.TarInfo("../../escape")
        tar.addfile(ti, io.BytesIO(b""))
    one_line_error(sampan("cp", "-", "cx:/d", input=evil.getvalue()), text="escape")


def test_usage_errors(sampan):
    one_line_error(sampan("cp", "a", "b"), text="must specify at least one container source")
    one_line_error(sampan("cp", "x:/a", "y:/b"), text="copying between containers is not supported")
    one_line_error(sampan("cp", "nope:/a", "/tmp/x"), text="No such container: nope")
    r = sampan("cp", "./local:name", "/tmp/x")  # a local path with a colon, made explicit
    one_line_error(r, text="must specify at least one container source")


# ---- mounts ----------------------------------------------------------------
@pytest.mark.parametrize("state", ["running", "stopped"])
def test_cp_reaches_volumes_and_bind_mounts(sampan, tmp_path, state):
    bind, robind = tmp_path / "bind", tmp_path / "robind"
    bind.mkdir()
    robind.mkdir()
    (robind / "keep").write_text("keep\n")
    (tmp_path / "h").write_text("host\n")
    args = ["--name", "vc", "--network", "none", "-v", "vol:/data", "-v", f"{bind}:/bind",
            "-v", f"{robind}:/ro:ro", "--tmpfs", "/scratch", "busybox"]
    if state == "running":
        sampan.ok("run", "-d", *args, "sleep", "1000")
    else:
        sampan.ok("run", *args, "true")
    sampan.ok("cp", str(tmp_path / "h"), "vc:/data/")
    sampan.ok("cp", str(tmp_path / "h"), "vc:/bind/h2")
    assert (bind / "h2").read_text() == "host\n"        # landed in the host directory
    one_line_error(sampan("cp", str(tmp_path / "h"), "vc:/ro/"), text="mounted volume is marked read-only")
    assert sorted(os.listdir(robind)) == ["keep"]
    # the volume holds it: another container sees it there
    assert sampan.ok("run", "--rm", "--network", "none", "-v", "vol:/x", "busybox", "cat", "/x/h") == "host\n"
    # and out again, through the mounts
    out = subprocess.run(sampan.argv("cp", "vc:/ro/keep", "-"), capture_output=True, env=sampan.env(),
                         check=True).stdout
    assert tarfile.open(fileobj=io.BytesIO(out)).extractfile("keep").read() == b"keep\n"
    # a tmpfs is the container's own: the copy goes to an empty private one, never
    # into the directory it hides in the root
    sampan.ok("cp", str(tmp_path / "h"), "vc:/scratch/")
    exported = subprocess.run(sampan.argv("export", "vc"), capture_output=True, env=sampan.env(),
                              check=True).stdout
    names = tarfile.open(fileobj=io.BytesIO(exported)).getnames()
    assert "scratch" in names and "scratch/h" not in names and "data/h" not in names
    sampan.ok("rm", "-f", "vc")


def test_cp_into_a_read_only_root(sampan, tmp_path):
    (tmp_path / "h").write_text("host\n")
    sampan.ok("run", "-d", "--name", "ro", "--network", "none", "--read-only", "-v", "vol2:/data",
              "busybox", "sleep", "1000")
    one_line_error(sampan("cp", str(tmp_path / "h"), "ro:/"), text="container rootfs is marked read-only")
    sampan.ok("cp", str(tmp_path / "h"), "ro:/data/")
    assert sampan.ok("exec", "ro", "cat", "/data/h") == "host\n"


def test_cp_into_a_created_container_makes_its_mount_points(sampan, tmp_path):
    (tmp_path / "h").write_text("host\n")
    sampan.ok("create", "--name", "fresh", "--network", "none", "-v", "vol3:/new/place", "busybox",
              "cat", "/new/place/h")
    sampan.ok("cp", str(tmp_path / "h"), "fresh:/new/place/")
    assert sampan.ok("start", "-a", "fresh") == "host\n"


def test_container_cp_spelling(sampan, tmp_path):
    sampan.ok("create", "--name", "cc", "busybox")
    sampan.ok("container", "cp", "cc:/etc/passwd", str(tmp_path / "p"))
    assert (tmp_path / "p").read_text().startswith("root:")
