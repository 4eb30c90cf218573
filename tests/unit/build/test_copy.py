"""COPY/ADD semantics: globs, trailing slash, dir contents, --chown/--chmod, --from, ADD extras."""

import io
import os
import stat
import tarfile

import pytest

from sampan.errors import BuildError

IS_ROOT = os.geteuid() == 0


def test_file_to_path_and_into_dir(h):
    h.write({"a.txt": "A"})
    files = h.files(h.build("FROM busybox\nCOPY a.txt /named\nCOPY a.txt /dir/\n"))
    assert files["/named"].read_text() == "A"
    assert files["/dir/a.txt"].read_text() == "A"


def test_directory_contents_not_the_directory(h):
    h.write({"src/x": "X", "src/sub/y": "Y"})
    files = h.files(h.build("FROM busybox\nCOPY src /dst\n"))
    assert files["/dst/x"].read_text() == "X" and files["/dst/sub/y"].read_text() == "Y"
    assert "/dst/src" not in files


def test_globs_match_within_one_level(h):
    h.write({"a.txt": "1", "b.txt": "2", "c.md": "3", "d/e.txt": "4"})
    files = h.files(h.build("FROM busybox\nCOPY *.txt /out/\nCOPY d/?.txt /q/\n"))
    assert {p for p in files if p.startswith("/out/")} == {"/out/a.txt", "/out/b.txt"}
    assert files["/q/e.txt"].read_text() == "4"


def test_several_sources_need_a_directory_destination(h):
    h.write({"a": "1", "b": "2"})
    with pytest.raises(BuildError, match=r"Dockerfile:2: COPY: .*must be a directory"):
        h.build("FROM busybox\nCOPY a b /notadir\n")
    files = h.files(h.build("FROM busybox\nCOPY a b /isadir/\n"))
    assert files["/isadir/a"].read_text() == "1"


def test_existing_directory_in_image_is_a_directory_destination(h):
    h.write({"a": "1"})
    files = h.files(h.build("FROM busybox\nCOPY a /etc\n"))
    assert files["/etc/a"].read_text() == "1"
    assert files["/etc/passwd"].exists()  # still there: the dir merged, not replaced


def test_relative_destination_uses_workdir(h):
    h.write({"a": "1"})
    files = h.files(h.build("FROM busybox\nWORKDIR /app\nCOPY a .\nCOPY a rel/b\n"))
    assert files["/app/a"].read_text() == "1" and files["/app/rel/b"].read_text() == "1"


def test_symlinked_parent_in_image_is_followed(h, tmp_path):
    h.backend.add_image("linked", {"real/": b""})
    layer_dir = h.backend.layer_path(h.backend.images["linked"][2][0])
    os.symlink("/real", layer_dir / "link")
    h.write({"a": "1"})
    files = h.files(h.build("FROM linked\nCOPY a /link/a\n"))
    assert files["/real/a"].read_text() == "1"
    assert "/link/a" not in files


def test_modes_kept_and_chmod_applies(h):
    h.write({"run.sh": "#!/bin/sh", "plain": "p"})
    os.chmod(h.context / "run.sh", 0o750)
    files = h.files(h.build("FROM busybox\nCOPY run.sh plain /bin/\nCOPY --chmod=600 run.sh /x/\n"))
    assert stat.S_IMODE(files["/bin/run.sh"].stat().st_mode) == 0o750
    assert stat.S_IMODE(files["/x/run.sh"].stat().st_mode) == 0o600


@pytest.mark.skipif(not IS_ROOT, reason="owners can only be set as root")
def test_owner_root_by_default_and_chown_by_name_or_id(h):
    h.write({"f": "x"})
    os.chown(h.context / "f", 1234, 1234)
    files = h.files(h.build("FROM busybox\nCOPY f /root-owned\nCOPY --chown=app f /by-name\n"
                            "COPY --chown=app:staff f /by-group\nCOPY --chown=7:8 f /by-id\n"
                            "COPY --chown=9 f /uid-only\n"))
    owner = lambda p: (files[p].stat().st_uid, files[p].stat().st_gid)  # noqa: E731
    assert owner("/root-owned") == (0, 0)
    assert owner("/by-name") == (1000, 1001)  # primary group from /etc/passwd
    assert owner("/by-group") == (1000, 50)
    assert owner("/by-id") == (7, 8)
    assert owner("/uid-only") == (9, 9)


def test_chown_unknown_user(h):
    h.write({"f": "x"})
    with pytest.raises(BuildError, match=r"Dockerfile:2: COPY: unable to find user nobody"):
        h.build("FROM busybox\nCOPY --chown=nobody f /f\n")


def test_copy_from_stage_and_from_image(h):
    h.write({"f": "from-context"})
    h.backend.add_image("other", {"opt/tool": "T"})
    files = h.files(h.build("FROM busybox AS build\nCOPY f /out/f\n"
                            "FROM busybox\nCOPY --from=build /out/f /copied\n"
                            "COPY --from=other /opt/tool /tool\nCOPY --from=0 /out /dir\n"))
    assert files["/copied"].read_text() == "from-context"
    assert files["/tool"].read_text() == "T"
    assert files["/dir/f"].read_text() == "from-context"


def test_missing_source_and_outside_context(h):
    with pytest.raises(BuildError, match=r"Dockerfile:2: COPY: source 'nope' not found"):
        h.build("FROM busybox\nCOPY nope /x\n")
    with pytest.raises(BuildError, match=r"Dockerfile:3: COPY: forbidden path outside the build context"):
        h.build("FROM busybox\nRUN true\nCOPY ../secret /x\n")
    assert h.backend.written == []


def test_dockerignored_source_is_missing_with_a_hint(h):
    h.write({".dockerignore": "secret*\n", "secret.txt": "s", "ok": "o"})
    with pytest.raises(BuildError, match="excluded by .dockerignore"):
        h.build("FROM busybox\nCOPY secret.txt /x\n")
    files = h.files(h.build("FROM busybox\nCOPY . /ctx/\n"))
    assert "/ctx/ok" in files and "/ctx/secret.txt" not in files


def test_dockerignore_exception_inside_ignored_dir(h):
    h.write({".dockerignore": "docs\n!docs/keep.md\n", "docs/keep.md": "k", "docs/drop.md": "d"})
    files = h.files(h.build("FROM busybox\nCOPY . /c/\n"))
    assert "/c/docs/keep.md" in files and "/c/docs/drop.md" not in files


def test_symlink_in_context_copied_as_symlink(h):
    h.write({"target": "t"})
    os.symlink("target", h.context / "link")
    files = h.files(h.build("FROM busybox\nCOPY . /c/\n"))
    assert os.readlink(files["/c/link"]) == "target"


def test_copy_heredoc_with_and_without_expansion(h):
    files = h.files(h.build('FROM busybox\nARG NAME=world\nCOPY <<EOF /hello\nhello $NAME "q"\nEOF\n'
                            'COPY <<"EOF" /raw\nhello $NAME\nEOF\n'))
    assert files["/hello"].read_text() == 'hello world "q"\n'
    assert files["/raw"].read_text() == "hello $NAME\n"


def _tar_bytes(entries: dict[str, bytes], compression: str = "") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:" + compression) as tf:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o640
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.mark.parametrize("compression", ["", "gz", "bz2", "xz"])
def test_add_extracts_local_archives_copy_does_not(h, compression):
    h.write({"a.tar": _tar_bytes({"top/inner.txt": b"I"}, compression)})
    files = h.files(h.build("FROM busybox\nADD a.tar /x/\nCOPY a.tar /y/\n"))
    assert files["/x/top/inner.txt"].read_text() == "I"
    assert stat.S_IMODE(files["/x/top/inner.txt"].stat().st_mode) == 0o640
    assert files["/y/a.tar"].read_bytes()[:2] != b""  # the archive itself


def test_add_refuses_escaping_archive(h):
    h.write({"evil.tar": _tar_bytes({"../../escape": b"x"})})
    with pytest.raises(BuildError, match=r"Dockerfile:2: ADD: unsafe entry"):
        h.build("FROM busybox\nADD evil.tar /x/\n")


def test_add_url(h, tmp_path):
    import http.server
    import threading

    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "file.txt").write_text("remote")
    handler = lambda *a, **kw: http.server.SimpleHTTPRequestHandler(  # noqa: E731
        *a, directory=str(tmp_path / "www"), **kw)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.RequestHandlerClass.log_message = lambda *a: None
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/file.txt"
        files = h.files(h.build(f"FROM busybox\nADD {url} /dl/\nADD {url} /named\n"))
        assert files["/dl/file.txt"].read_text() == "remote"
        assert stat.S_IMODE(files["/named"].stat().st_mode) == 0o600
        with pytest.raises(BuildError, match="checksum"):
            h.build(f"FROM busybox\nADD --checksum=sha256:{'0' * 64} {url} /c\n")
    finally:
        server.shutdown()
        server.server_close()


def test_stdin_dockerfile_without_context(h):
    with pytest.raises(BuildError, match="needs a build context"):
        h.build("FROM busybox\nCOPY a /a\n", context=None)
    assert h.build("FROM busybox\nRUN true\n", context=None).image.id


def test_symlink_source_is_followed_but_keeps_its_name(h):
    h.write({"real.txt": "content"})
    os.symlink("real.txt", h.context / "alias.txt")
    files = h.files(h.build("FROM busybox\nCOPY alias.txt /d/\nCOPY alias.txt /named\n"))
    assert files["/d/alias.txt"].read_text() == "content" and not files["/d/alias.txt"].is_symlink()
    assert "/d/real.txt" not in files
    assert files["/named"].read_text() == "content"


def test_symlink_loop_in_context_is_a_build_error(h):
    os.symlink("loop", h.context / "loop")
    with pytest.raises(BuildError, match=r"Dockerfile:2: COPY: .*symbolic links"):
        h.build("FROM busybox\nCOPY loop /x\n")


def test_build_arg_from_environment():
    from sampan.build.executor import parse_build_args
    from sampan.errors import InvalidArgument

    assert parse_build_args(["A=1", "B", "C"], {"B": "env"}) == {"A": "1", "B": "env"}
    with pytest.raises(InvalidArgument):
        parse_build_args(["=x"], {})


@pytest.mark.skipif(not IS_ROOT, reason="owners can only be set as root")
def test_copy_from_keeps_owners_unless_chown(h):
    h.backend.add_image("owned", {"data/f": "x"})
    layer = h.backend.layer_path(h.backend.images["owned"][2][0])
    os.chown(layer / "data/f", 4321, 4322)
    files = h.files(h.build("FROM busybox\nCOPY --from=owned /data/f /kept\n"
                            "COPY --from=owned --chown=5:6 /data/f /changed\n"))
    assert (files["/kept"].stat().st_uid, files["/kept"].stat().st_gid) == (4321, 4322)
    assert (files["/changed"].stat().st_uid, files["/changed"].stat().st_gid) == (5, 6)


def _tar_with(entries) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, kind, arg in entries:
            info = tarfile.TarInfo(name)
            if kind == "dir":
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tf.addfile(info)
            elif kind == "sym":
                info.type = tarfile.SYMTYPE
                info.linkname = arg
                tf.addfile(info)
            elif kind == "hard":
                info.type = tarfile.LNKTYPE
                info.linkname = arg
                info.mode = 0o4755  # tar writers repeat the target's mode; Docker applies it
                tf.addfile(info)
            else:
                info.size, info.mode = len(arg), 0o4755 if kind == "suid" else 0o644
                tf.addfile(info, io.BytesIO(arg))
    return buf.getvalue()


def test_add_rootfs_tarball_with_absolute_symlinks_and_hardlinks(h):
    h.write({"rootfs.tar": _tar_with([
        ("./", "dir", None), ("usr/bin/", "dir", None), ("usr/bin/tool", "suid", b"T"),
        ("bin", "sym", "/usr/bin"), ("usr/bin/again", "hard", "usr/bin/tool")])})
    files = h.files(h.build("FROM scratch\nADD rootfs.tar /\n"))
    assert os.readlink(files["/bin"]) == "/usr/bin"
    assert files["/usr/bin/again"].read_text() == "T"
    if IS_ROOT:
        assert stat.S_IMODE(files["/usr/bin/tool"].stat().st_mode) == 0o4755  # setuid kept


def test_add_archive_link_is_followed_inside_the_image(h):
    """Docker's ADD resolves a member's parent inside the image root: a link to /etc
    leads to the image's /etc, never the host's."""
    h.write({"evil.tar": _tar_with([("evil", "sym", "/etc"), ("evil/passwd", "file", b"x")])})
    files = h.files(h.build("FROM busybox\nADD evil.tar /x/\n"))
    assert os.readlink(files["/x/evil"]) == "/etc"
    assert files["/etc/passwd"].read_text() == "x"
    assert files["/etc/group"].exists()  # the image's /etc merged, not replaced


@pytest.mark.parametrize("entries,fragment", [
    ([("../../x", "file", b"x")], "outside the destination"),
    ([("link", "hard", "../../etc/passwd")], "outside the destination"),
])
def test_add_refuses_hostile_archives(h, entries, fragment):
    h.write({"evil.tar": _tar_with(entries)})
    with pytest.raises(BuildError, match=fragment):
        h.build("FROM busybox\nADD evil.tar /x/\n")
    assert h.backend.written == []


def test_copy_several_heredocs_into_a_directory(h):
    files = h.files(h.build("FROM busybox\nCOPY <<one <<two /etc/conf/\nfirst\none\nsecond\ntwo\n"))
    assert files["/etc/conf/one"].read_text() == "first\n"
    assert files["/etc/conf/two"].read_text() == "second\n"
    assert stat.S_IMODE(files["/etc/conf/one"].stat().st_mode) == 0o644
