"""A container's processes and files through the API: top, diff, export, cp both ways
(with hostile archives), rename, container prune, system df."""

import io
import json
import os
import tarfile

import pytest

from tests.support.api import docker_clis, request




def tar_of(*members: tuple[tarfile.TarInfo, bytes | None]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for ti, data in members:
            if data is not None:
                ti.size = len(data)
            t.addfile(ti, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def member(name: str, kind=tarfile.REGTYPE, linkname: str = "") -> tarfile.TarInfo:
    ti = tarfile.TarInfo(name)
    ti.type, ti.linkname, ti.mode = kind, linkname, 0o644
    return ti


@pytest.mark.parametrize("cli", docker_clis())
def test_top_diff_rename(service, cli):
    d = lambda *a: service.docker(*a, cli=cli)  # noqa: E731
    assert d("run", "-d", "--name", "t1", "busybox", "sh", "-c", "touch /made; rm /bin/true; sleep 60").rc == 0
    r = d("top", "t1")
    assert r.rc == 0 and "sleep 60" in r.out and "PID" in r.out.splitlines()[0], r.err
    for _ in range(50):
        r = d("diff", "t1")
        if "D /bin/true" in r.out:
            break
    assert r.rc == 0 and "A /made" in r.out and "C /bin" in r.out and "D /bin/true" in r.out, (r.out, r.err)
    r = d("rename", "t1", "t2")
    assert r.rc == 0, r.err
    assert d("inspect", "-f", "{{.Name}}", "t2").out.strip() == "/t2"
    assert d("create", "--name", "t3", "busybox", "true").rc == 0
    r = d("rename", "t2", "t3")
    assert r.rc != 0 and "in use" in r.err
    r = d("rename", "t2", "bad/name")
    assert r.rc != 0 and "invalid" in r.err.lower()
    assert d("rm", "-f", "t2", "t3").rc == 0
    r = d("top", "nope")
    assert r.rc != 0 and "nope" in r.err


def test_top_of_a_stopped_container_is_409(service):
    assert service.docker("create", "--name", "idle", "busybox", "true").rc == 0
    status, _, body = request(service, "GET", "/containers/idle/top")
    assert status == 409 and b"not running" in body


@pytest.mark.parametrize("cli", docker_clis())
def test_cp_both_ways_and_export(service, cli, tmp_path):
    d = lambda *a: service.docker(*a, cli=cli)  # noqa: E731
    assert d("run", "-d", "--name", "c1", "busybox", "sleep", "60").rc == 0
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "f.txt").write_text("hello")
    (src / "top.txt").write_text("top")
    r = d("cp", str(src), "c1:/tmp/")
    assert r.rc == 0, r.err
    r = d("cp", str(src / "top.txt"), "c1:/tmp/renamed.txt")
    assert r.rc == 0, r.err
    got = service.cli("exec", "c1", "cat", "/tmp/in/sub/f.txt", "/tmp/renamed.txt")
    assert got.out == "hellotop"
    out = tmp_path / "out"
    out.mkdir()
    r = d("cp", "c1:/tmp/in", str(out))
    assert r.rc == 0, r.err
    assert (out / "in" / "sub" / "f.txt").read_text() == "hello"
    r = d("cp", "c1:/tmp/renamed.txt", str(out / "x.txt"))
    assert r.rc == 0 and (out / "x.txt").read_text() == "top", r.err
    r = d("cp", "c1:/nope", str(out))
    assert r.rc != 0 and "nope" in r.err
    # to stdout: a tar
    r = service.docker("cp", "c1:/tmp/renamed.txt", "-", cli=cli)
    assert r.rc == 0
    exp = tmp_path / "c1.tar"
    r = d("export", "-o", str(exp), "c1")
    assert r.rc == 0, r.err
    with tarfile.open(exp) as t:
        names = set(t.getnames())
    assert "bin/busybox" in names and "tmp/in/sub/f.txt" in names


def test_archive_stat_header_and_errors(service):
    assert service.docker("run", "-d", "--name", "c2", "busybox", "sh", "-c",
                          "ln -s /etc/passwd /lnk; sleep 60").rc == 0
    import base64
    status, headers, _ = request(service, "HEAD", "/containers/c2/archive?path=/etc")
    assert status == 200
    st = json.loads(base64.b64decode(headers["x-docker-container-path-stat"]))
    assert st["name"] == "etc" and st["mode"] & (1 << 31)
    for _ in range(50):
        status, headers, _ = request(service, "HEAD", "/containers/c2/archive?path=/lnk")
        if status == 200:
            break
    st = json.loads(base64.b64decode(headers["x-docker-container-path-stat"]))
    assert st["mode"] & (1 << 27) and st["linkTarget"] == "/etc/passwd"
    status, headers, body = request(service, "GET", "/containers/c2/archive?path=/etc/passwd")
    assert status == 200 and headers["content-type"] == "application/x-tar"
    with tarfile.open(fileobj=io.BytesIO(body)) as t:
        assert t.getnames() == ["passwd"] and b"root:" in t.extractfile("passwd").read()
    assert request(service, "GET", "/containers/c2/archive?path=/nope")[0] == 404
    # '..' past the root stays in the container's root, as a chroot would
    status, _, body = request(service, "GET", "/containers/c2/archive?path=/../../../../etc/passwd")
    with tarfile.open(fileobj=io.BytesIO(body)) as t:
        assert t.extractfile("passwd").read().decode() == service.cli("exec", "c2", "cat", "/etc/passwd").out
    assert request(service, "HEAD", "/containers/c2/archive")[0] == 400
    assert request(service, "GET", "/containers/nope/archive?path=/")[0] == 404
    assert request(service, "PUT", "/containers/c2/archive?path=/nope", tar_of((member("a"), b"x")))[0] == 404
    assert request(service, "PUT", "/containers/c2/archive?path=/etc/passwd", tar_of((member("a"), b"x")))[0] == 400
    status, _, body = request(service, "PUT", "/containers/c2/archive?path=/tmp", b"not a tar at all" * 100)
    assert 400 <= status < 500 and b"message" in body


def test_hostile_archives_stay_inside_the_container(service, tmp_path):
    """../ members, absolute names, and symlinks that point out of the root, then members
    written through them: nothing lands outside the container."""
    assert service.docker("run", "-d", "--name", "c3", "busybox", "sleep", "60").rc == 0
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = f"{outside}/pwned"
    attacks = [
        [(member("../../../../../../../" + victim.lstrip("/")), b"dotdot")],
        [(member(victim), b"absolute")],
        [(member("esc", tarfile.SYMTYPE, str(outside)), None), (member("esc/pwned"), b"through a link")],
        [(member("up", tarfile.SYMTYPE, "../../../../../../../../" + str(outside).lstrip("/")), None),
         (member("up/pwned2"), b"through a relative link")],
        [(member("hard", tarfile.LNKTYPE, "../../../../../../etc/shadow"), None)],
        [(member("d/../../../../../../../../" + victim.lstrip("/")), b"hidden dotdot")],
    ]
    for members in attacks:
        status, _, body = request(service, "PUT", "/containers/c3/archive?path=/tmp", tar_of(*members))
        assert status in (200, 400), body  # refused, or written inside the container only
        assert status == 200 or b"message" in body
    assert list(outside.iterdir()) == [], "the archive wrote outside the container"
    r = service.cli("exec", "c3", "sh", "-c", "find / -xdev -name 'pwned*' 2>/dev/null")
    for path in r.out.split():
        assert path.startswith(("/tmp/", str(outside))), path  # anything written is in /tmp
    # a container path that names a symlink to the host's / is resolved in the container
    assert service.cli("exec", "c3", "ln", "-s", "/", "/tmp/hostroot").rc == 0
    target = str(outside)
    status, _, _ = request(service, "PUT", f"/containers/c3/archive?path=/tmp/hostroot{target}",
                           tar_of((member("x"), b"y")))
    assert status == 404 and list(outside.iterdir()) == []
    assert not os.path.exists("/pwned") and not os.path.exists("/pwned2")


@pytest.mark.parametrize("cli", docker_clis())
def test_container_prune_and_system_df(service, cli):
    d = lambda *a: service.docker(*a, cli=cli)  # noqa: E731
    assert d("create", "--name", "dead1", "busybox", "true").rc == 0
    assert d("run", "-d", "--name", "alive1", "-v", "dfvol:/v", "busybox", "sleep", "60").rc == 0
    r = d("system", "df")
    assert r.rc == 0, r.err
    lines = {line.split()[0]: line for line in r.out.splitlines()[1:]}
    assert lines["Images"].split()[1] == "1" and lines["Containers"].split()[1:3] == ["2", "1"]
    assert "Local" in lines and lines["Local"].split()[2] == "1"
    r = d("system", "df", "-v")
    assert r.rc == 0 and "dfvol" in r.out, r.err
    assert service.cli("exec", "alive1", "dd", "if=/dev/zero", "of=/big", "bs=1024", "count=300").rc == 0
    status, _, body = request(service, "GET", "/system/df?type=container")
    sizes = {c["Names"][0]: c["SizeRw"] for c in json.loads(body)["Containers"]}
    assert status == 200 and sizes["/alive1"] >= 300 * 1024 and sizes["/dead1"] < 300 * 1024
    r = d("container", "prune", "-f")
    assert r.rc == 0, r.err
    names = d("ps", "-a", "--format", "{{.Names}}").out.split()
    assert names == ["alive1"]
    # Docker's prune filters are taken (test_prune_api.py); an unknown key is a 400
    assert request(service, "POST", '/containers/prune?filters={"until":["1h"]}')[0] == 200
    assert request(service, "POST", '/containers/prune?filters={"bogus":["1"]}')[0] == 400
    assert d("rm", "-f", "alive1").rc == 0


@pytest.mark.parametrize("cli", docker_clis())
def test_cp_contents_links_and_owners(service, cli, tmp_path):
    d = lambda *a: service.docker(*a, cli=cli)  # noqa: E731
    assert d("run", "-d", "--name", "c4", "busybox", "sh", "-c",
             "mkdir -p /src/sub && echo a > /src/a && echo b > /src/sub/b && chown -R 1000:1000 /src && "
             "ln -s /src/a /lnk && sleep 60").rc == 0
    for _ in range(50):
        if service.cli("exec", "c4", "test", "-L", "/lnk").rc == 0:
            break
    # SRC/. copies the directory's contents
    dst = tmp_path / "contents"
    dst.mkdir()
    r = d("cp", "c4:/src/.", str(dst))
    assert r.rc == 0, r.err
    assert sorted(os.listdir(dst)) == ["a", "sub"] and (dst / "sub" / "b").read_text() == "b\n"
    # a link is copied as a link, or followed with -L
    r = d("cp", "c4:/lnk", str(tmp_path / "lnk"))
    assert r.rc == 0 and os.readlink(tmp_path / "lnk") == "/src/a", r.err
    r = d("cp", "-L", "c4:/lnk", str(tmp_path / "followed"))
    assert r.rc == 0 and (tmp_path / "followed").read_text() == "a\n", r.err
    # the archive carries the container's owners (the CLI itself writes the caller's: its
    # untar never chowns, -a or not)
    status, _, body = request(service, "GET", "/containers/c4/archive?path=/src")
    with tarfile.open(fileobj=io.BytesIO(body)) as t:
        assert {m.uid for m in t.getmembers()} == {1000} and "src/sub/b" in t.getnames()
    # into the container: files are root's, unless -a keeps the host's owner
    f = tmp_path / "mine"
    f.write_text("m")
    os.chown(f, 1234, 1234)
    assert d("cp", str(f), "c4:/tmp/").rc == 0
    assert d("cp", "-a", str(f), "c4:/tmp/kept").rc == 0
    r = service.cli("exec", "c4", "stat", "-c", "%u", "/tmp/mine", "/tmp/kept")
    assert r.out.split() == ["0", "1234"]
    # into a file that is not a directory, or a directory that is not there
    r = d("cp", str(f), "c4:/src/a/inside")
    assert r.rc != 0
    r = d("cp", str(f), "c4:/nodir/x")
    assert r.rc != 0


def test_bad_archive_and_rename_requests(service):
    assert service.docker("run", "-d", "--name", "c5", "busybox", "sleep", "60").rc == 0
    assert request(service, "HEAD", "/containers/c5/archive?path=/etc%00x")[0] == 400
    assert request(service, "PUT", "/containers/c5/archive?path=")[0] == 400
    assert request(service, "GET", "/containers/c5/top?ps_args=-o%20pid;rm")[0] == 400
    assert request(service, "POST", "/containers/c5/rename")[0] == 400
    assert request(service, "POST", "/containers/c5/rename?name=" + "x" * 300 + "/")[0] == 400
    assert request(service, "POST", "/containers/nope/rename?name=fine")[0] == 404
    assert request(service, "GET", "/system/df?type=nonsense")[0] == 400
    assert request(service, "GET", "/containers/nope/export")[0] == 404
    assert request(service, "GET", "/containers/nope/changes")[0] == 404
    # an archive cut short: refused, and the service goes on
    whole = tar_of((member("big"), b"z" * 100000))
    status, _, body = request(service, "PUT", "/containers/c5/archive?path=/tmp", whole[:5000])
    assert 400 <= status < 500 and b"message" in body
    assert request(service, "GET", "/_ping")[0] == 200


def test_a_client_that_leaves_during_an_export_frees_it(service):
    import socket
    import time
    assert service.docker("run", "-d", "--name", "c6", "busybox", "sleep", "60").rc == 0
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(str(service.sock))
        s.sendall(b"GET /containers/c6/export HTTP/1.1\r\nHost: x\r\n\r\n")
        assert s.recv(100).startswith(b"HTTP/1.1 200")
    # the export's child is gone soon after (it holds the container's lock while it runs)
    deadline = time.monotonic() + 10
    while True:
        r = service.docker("rm", "-f", "c6")
        if r.rc == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert r.rc == 0, r.err
    assert request(service, "GET", "/_ping")[0] == 200


def test_docker_py_files_and_processes(service):
    client = service.client()
    c = client.containers.run("busybox", ["sleep", "60"], detach=True, name="pyfs")
    try:
        assert any("sleep 60" in p[-1] for p in c.top()["Processes"])
        assert c.put_archive("/tmp", tar_of((member("hello.txt"), b"hi")))
        bits, st = c.get_archive("/tmp/hello.txt")
        data = b"".join(bits)
        assert st["name"] == "hello.txt" and st["size"] == 2
        with tarfile.open(fileobj=io.BytesIO(data)) as t:
            assert t.extractfile("hello.txt").read() == b"hi"
        assert {"Path": "/tmp/hello.txt", "Kind": 1} in c.diff()
        c.rename("pyfs2")
        c.reload()
        assert c.name == "pyfs2"
        exported = b"".join(c.export())
        with tarfile.open(fileobj=io.BytesIO(exported)) as t:
            assert "tmp/hello.txt" in t.getnames()
    finally:
        c.remove(force=True)
    stopped = client.containers.create("busybox", ["true"])
    assert client.containers.prune()["ContainersDeleted"] == [stopped.id]
    df = client.df()
    assert [i["RepoTags"] for i in df["Images"]] == [["busybox:latest"]]


@pytest.mark.parametrize("cli", docker_clis())
def test_update_limits_and_what_it_cannot_do(service, cli):
    assert service.docker("create", "--name", "up1", "busybox", "true", cli=cli).rc == 0
    r = service.docker("update", "--memory", "64m", "--cpus", "0.5", "--pids-limit", "30", "up1", cli=cli)
    assert r.rc == 0, r.err
    shown = service.cli.ok("inspect", "-f", "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}}",
                           "up1").strip()
    assert shown == f"{64 << 20} 500000000 30"
    r = service.docker("update", "--cpus", "0.1", "--memory", "1k", "up1", cli=cli)
    assert r.rc != 0 and "memory" in r.err.lower()
    status, _, body = request(service, "POST", "/containers/up1/update",
                              b'{"BlkioWeightDevice":[{"Path":"/dev/sda","Weight":10}]}')
    assert status == 400 and b"BlkioWeightDevice" in body and b"not supported" in body
    assert request(service, "POST", "/containers/up1/update", b'{"Memory":"64m"}')[0] == 400
    r = service.docker("update", "--memory", "64m", "nope", cli=cli)
    assert r.rc != 0 and "nope" in r.err
    status, _, body = request(service, "POST", "/containers/up1/update", b'{"RestartPolicy":{"Name":"always"}}')
    assert status == 200 and json.loads(body) == {"Warnings": []}
    assert service.cli.ok("inspect", "-f", "{{.HostConfig.RestartPolicy.Name}}", "up1").strip() == "always"
    assert request(service, "POST", "/containers/up1/update", b"[1]")[0] == 400
