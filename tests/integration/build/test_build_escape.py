"""Issue 9, `build` writes to host files: every attack through a symlink that an archive,
an earlier source or instruction, a base layer or the context left, run with a real
`sampan build`, checked from outside (a root-only file and a directory beside the
context keep content, mode, owner, link count and listing) and from inside a container
(the write landed inside the image, as Docker resolves it)."""

from __future__ import annotations

import http.server
import io
import os
import stat
import tarfile
import threading

import pytest

from tests.support.cli import Sampan


class Host:
    """The host's files the builds aim at: a root-only secret and a private directory."""

    def __init__(self, base):
        self.base = base
        self.dir = base / "dir"
        self.dir.mkdir(parents=True)
        (self.dir / "keep").write_text("host dir file\n")
        self.secret = base / "secret"
        self.secret.write_text("host secret\n")
        os.chmod(self.secret, 0o600)
        os.chmod(self.dir, 0o700)
        os.chmod(base, 0o700)
        self.before = self.snapshot()

    def snapshot(self) -> dict:
        out = {}
        for dirpath, dirnames, filenames in os.walk(self.base):
            for n in [".", *dirnames, *filenames]:
                p = os.path.normpath(os.path.join(dirpath, n))
                st = os.lstat(p)
                data = open(p, "rb").read() if stat.S_ISREG(st.st_mode) else None
                out[p] = (stat.filemode(st.st_mode), st.st_uid, st.st_gid, st.st_nlink, data)
        return out

    def assert_untouched(self) -> None:
        assert self.snapshot() == self.before


@pytest.fixture
def env(state_dirs, busybox_tar, tmp_path):
    root, runroot = state_dirs
    s = Sampan(root, runroot)
    s.ok("import", "--change", 'CMD ["sh"]', str(busybox_tar), "busybox")
    s.ctx = tmp_path / "ctx"
    s.ctx.mkdir()
    s.host = Host(tmp_path / "host")
    yield s
    s.cleanup()
    s.host.assert_untouched()  # whatever the test asserted, nothing of the host moved


def build(s: Sampan, dockerfile: str, tag: str = "t:1", ok: bool = True):
    (s.ctx / "Dockerfile").write_text(dockerfile)
    r = s("build", "--progress=plain", "--network=none", "-t", tag, str(s.ctx), timeout=120)
    if ok:
        assert r.rc == 0, r.err
    return r


def inside(s: Sampan, script: str, tag: str = "t:1") -> str:
    return s.ok("run", "--rm", "--network=none", tag, "sh", "-c", script)


def tar_of(*members) -> bytes:
    """members: (name, kind, arg, mode, uid)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name, kind, arg, mode, uid in members:
            ti = tarfile.TarInfo(name)
            ti.mode, ti.uid, ti.gid = mode, uid, uid
            data = None
            if kind == "dir":
                ti.type = tarfile.DIRTYPE
            elif kind == "sym":
                ti.type, ti.linkname = tarfile.SYMTYPE, arg
            elif kind == "hard":
                ti.type, ti.linkname = tarfile.LNKTYPE, arg
            else:
                data = arg
                ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def test_add_tar_symlink_then_file_replaces_the_link_not_the_host_file(env):
    (env.ctx / "evil.tar").write_bytes(tar_of(("x", "sym", str(env.host.secret), 0o777, 0),
                                              ("x", "file", b"from the tar\n", 0o4777, 1000)))
    build(env, "FROM busybox\nADD evil.tar /\n")
    env.host.assert_untouched()
    assert inside(env, "test -L /x || cat /x") == "from the tar\n"


def test_add_tar_symlink_then_dir_makes_a_dir_in_the_image(env):
    (env.ctx / "evil.tar").write_bytes(tar_of(("d", "sym", str(env.host.dir), 0o777, 0),
                                              ("d", "dir", None, 0o777, 1000),
                                              ("d/planted", "file", b"p\n", 0o644, 1000)))
    build(env, "FROM busybox\nADD evil.tar /\n")
    env.host.assert_untouched()
    assert inside(env, "test -L /d || stat -c '%a %u' /d; cat /d/planted") == "777 1000\np\n"


def test_add_tar_link_parent_is_followed_inside_the_image(env):
    """Docker resolves a member's parent in the image root: `l -> /etc` writes the
    image's /etc; a link to a host path leads to that path inside the image."""
    (env.ctx / "evil.tar").write_bytes(tar_of(("e", "sym", "/etc", 0o777, 0),
                                              ("e/added", "file", b"in etc\n", 0o644, 0),
                                              ("h", "sym", str(env.host.dir), 0o777, 0),
                                              ("h2", "sym", "../../../../../../../../../etc", 0o777, 0),
                                              ("h2/added2", "file", b"also\n", 0o644, 0)))
    build(env, "FROM busybox\nADD evil.tar /\n")
    assert inside(env, "cat /etc/added /etc/added2; grep -c root /etc/passwd") == "in etc\nalso\n1\n"


def test_add_tar_through_a_host_link_writes_that_path_inside_the_image(env):
    """The link's target does not exist in the image: it is made there (as BuildKit makes a
    destination through a dangling link), never on the host."""
    (env.ctx / "evil.tar").write_bytes(tar_of(("h", "sym", str(env.host.dir), 0o777, 0),
                                              ("h/new", "file", b"x\n", 0o644, 0)))
    build(env, "FROM busybox\nADD evil.tar /\n")
    env.host.assert_untouched()
    assert inside(env, f"cat /h/new {env.host.dir}/new") == "x\nx\n"


@pytest.mark.parametrize("link", ["host-secret", "l/keep", "../../../../../../../../.." + "/etc/passwd"])
def test_add_tar_hardlink_out_of_the_root_is_refused(env, link):
    if link == "host-secret":
        link = str(env.host.secret)  # absolute: counts from the destination, not the host
    (env.ctx / "evil.tar").write_bytes(tar_of(("l", "sym", str(env.host.dir), 0o777, 0),
                                              ("h", "hard", link, 0o777, 0)))
    r = build(env, "FROM busybox\nADD evil.tar /\n", ok=False)
    assert r.rc == 1 and "'h'" in r.err and "Traceback" not in r.err


def test_copy_dir_over_a_link_from_an_earlier_source(env):
    os.makedirs(env.ctx / "d1")
    os.symlink(env.host.dir, env.ctx / "d1" / "s")
    os.makedirs(env.ctx / "d2" / "s")
    (env.ctx / "d2" / "s" / "secret").write_text("planted\n")
    os.chmod(env.ctx / "d2" / "s", 0o777)
    os.chmod(env.ctx / "d2" / "s" / "secret", 0o4777)
    build(env, "FROM busybox\nCOPY --chown=1000:1000 d1/ d2/ /dst/\n")
    env.host.assert_untouched()
    assert inside(env, "test -L /dst/s || cat /dst/s/secret") == "planted\n"


def test_copy_from_a_stage_with_such_a_tree(env):
    h = env.host
    build(env, f"FROM busybox AS evil\nRUN mkdir -p /t /u/s && ln -s {h.dir} /t/s && "
               f"echo planted > /u/s/secret && chmod 777 /u/s && ln -s {h.secret} /t/f && "
               "echo replaced > /u/f\n"
               "FROM busybox\nCOPY --from=evil /t/ /u/ /dst/\n"
               "COPY --from=evil --chown=1000 --chmod=777 /t/ /u/ /dst2/\n")
    h.assert_untouched()
    assert inside(env, "cat /dst/s/secret /dst/f /dst2/s/secret") == "planted\nreplaced\nplanted\n"
    build(env, f"FROM busybox\nRUN mkdir /t && ln -s {h.dir} /t/s\n", tag="evilimg:1")
    build(env, "FROM busybox AS u\nRUN mkdir -p /u/s && echo img > /u/s/secret\n"
               "FROM busybox\nCOPY --from=evilimg:1 /t/ /dst/\nCOPY --from=u /u/ /dst/\n")
    assert inside(env, "cat /dst/s/secret") == "img\n"
    # a source that is a link to a host file resolves in the stage's root: not found there
    r = build(env, f"FROM busybox AS evil\nRUN ln -s {h.secret} /lnk\n"
                   "FROM busybox\nCOPY --from=evil /lnk /got\n", ok=False)
    assert r.rc == 1 and "not found" in r.err and "host secret" not in r.err


def test_workdir_and_copy_through_a_link_an_earlier_run_made(env):
    h = env.host
    (env.ctx / "x").write_text("copied\n")
    build(env, f"FROM busybox\nRUN ln -s {h.dir} /w\nWORKDIR /w/sub\nCOPY x /w/\nCOPY x ./\n"
               "RUN pwd > /pwd\n")
    h.assert_untouched()
    assert inside(env, f"cat /pwd /w/x /w/sub/x; test -d {h.dir}/sub && echo inside") == \
        f"{h.dir}/sub\ncopied\ncopied\ninside\n"


def test_links_in_the_base_image_layers(env, busybox_tar):
    """A base image whose own layer has links to host paths (a pulled image could)."""
    h = env.host
    with tarfile.open(busybox_tar) as src:
        members = [(m, src.extractfile(m).read() if m.isreg() else None) for m in src.getmembers()]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as out:
        for m, data in members:
            out.addfile(m, io.BytesIO(data) if data is not None else None)
        for name, target in (("w", str(h.dir)), ("f", str(h.secret)), ("wl", "/realdir")):
            ti = tarfile.TarInfo(name)
            ti.type, ti.linkname = tarfile.SYMTYPE, target
            out.addfile(ti)
        ti = tarfile.TarInfo("realdir")
        ti.type, ti.mode = tarfile.DIRTYPE, 0o755
        out.addfile(ti)
    (env.ctx.parent / "base.tar").write_bytes(buf.getvalue())
    env.ok("import", "--change", 'CMD ["sh"]', str(env.ctx.parent / "base.tar"), "linkbase:1")
    (env.ctx / "x").write_text("copied\n")
    build(env, "FROM linkbase:1\nCOPY x /w/\nCOPY --chown=1000 --chmod=777 x /f\nWORKDIR /w/deep\n"
               "COPY x /wl/\nCOPY <<EOF /w/here\nheredoc\nEOF\n")
    h.assert_untouched()
    out = inside(env, "cat /w/x /f /wl/x /realdir/x /w/here; stat -L -c '%a %u' /f; pwd; "
                      "test -L /wl && echo link")
    assert out == f"copied\ncopied\ncopied\ncopied\nheredoc\n777 1000\n{h.dir}/deep\nlink\n"


def test_chown_and_chmod_never_follow_a_link(env):
    h = env.host
    os.makedirs(env.ctx / "withlink")
    os.symlink(h.secret, env.ctx / "withlink" / "l")
    os.symlink(h.dir, env.ctx / "withlink" / "ld")
    (env.ctx / "x").write_text("x\n")
    build(env, f"FROM busybox\nRUN ln -s {h.secret} /f && ln -s {h.dir} /d\n"
               "COPY --chown=1000:1000 --chmod=777 x /f\n"
               "COPY --chown=1000:1000 --chmod=777 withlink/ /wl/\n"
               "COPY --chown=1000:1000 --chmod=777 withlink/ /d/\n")
    h.assert_untouched()
    assert inside(env, "stat -L -c '%a %u' /f; readlink /wl/l; stat -c '%u' /wl/l") == \
        f"777 1000\n{h.secret}\n1000\n"


def test_heredoc_and_dest_symlinks_to_host_paths(env):
    h = env.host
    (env.ctx / "x").write_text("x\n")
    build(env, f"FROM busybox\nRUN ln -s {h.dir} /link && ln -s {h.secret} /dest\n"
               "COPY <<EOF /link/file\nheredoc\nEOF\n"
               "COPY x /dest\n")
    h.assert_untouched()
    assert inside(env, f"cat /link/file {h.dir}/file /dest {h.secret}") == "heredoc\nheredoc\nx\nx\n"


def test_add_url_through_a_link(env, tmp_path):
    h = env.host
    www = tmp_path / "www"
    www.mkdir()
    (www / "file.txt").write_text("remote\n")
    handler = lambda *a, **kw: http.server.SimpleHTTPRequestHandler(  # noqa: E731
        *a, directory=str(www), **kw)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.RequestHandlerClass.log_message = lambda *a: None
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/file.txt"
        build(env, f"FROM busybox\nRUN ln -s {h.dir} /link && ln -s {h.secret} /dest\n"
                   f"ADD {url} /link/\nADD --chown=1000 {url} /dest\n")
    finally:
        server.shutdown()
        server.server_close()
    h.assert_untouched()
    assert inside(env, "cat /link/file.txt /dest") == "remote\nremote\n"


def test_context_link_to_a_host_file_is_never_read(env):
    h = env.host
    os.symlink(h.secret, env.ctx / "link")
    os.symlink(h.dir, env.ctx / "dlink")
    r = build(env, "FROM busybox\nCOPY link /got\n", ok=False)
    assert r.rc == 1 and "not found" in r.err and "host secret" not in r.err
    r = build(env, "FROM busybox\nCOPY dlink/keep /got\n", ok=False)
    assert r.rc == 1 and "not found" in r.err
    build(env, "FROM busybox\nCOPY . /ctx/\n")  # links inside a copied dir stay links
    assert inside(env, "readlink /ctx/link; cat /ctx/link 2>/dev/null; ls /ctx/dlink/ 2>&1 | "
                       "grep -c keep; true") == f"{h.secret}\n0\n"


def test_copy_to_a_directory_link_inside_the_image_lands_in_its_target(env):
    (env.ctx / "a").write_text("a\n")
    (env.ctx / "tree").mkdir()
    (env.ctx / "tree" / "b").write_text("b\n")
    build(env, "FROM busybox\nRUN mkdir /real && ln -s /real /abs && ln -s real /rel\n"
               "COPY a /abs/\nCOPY tree/ /rel/sub/\nCOPY a /abs/renamed\n")
    assert inside(env, "cat /real/a /real/sub/b /real/renamed; test -L /abs && test -L /rel && echo links") \
        == "a\nb\na\nlinks\n"
