import io

import pytest

from sampan.build.inputs import read_dockerfile
from sampan.errors import BuildError


def test_default_dockerfile_in_context(tmp_path):
    (tmp_path / "Dockerfile").write_bytes(b"\xef\xbb\xbfFROM a\n")
    text, ctx, name, path = read_dockerfile(str(tmp_path), None, None)
    assert text == "FROM a\n" and ctx == tmp_path and name == "Dockerfile" and path == tmp_path / "Dockerfile"


def test_named_file_and_stdin_forms(tmp_path):
    (tmp_path / "app.Dockerfile").write_text("FROM b\n")
    text, _, name, _ = read_dockerfile(str(tmp_path), str(tmp_path / "app.Dockerfile"), None)
    assert text == "FROM b\n" and name == "app.Dockerfile"
    text, ctx, _, _ = read_dockerfile("-", None, io.BytesIO(b"FROM c\n"))
    assert text == "FROM c\n" and ctx is None
    text, ctx, _, _ = read_dockerfile(str(tmp_path), "-", io.BytesIO(b"FROM d\n"))
    assert text == "FROM d\n" and ctx == tmp_path


@pytest.mark.parametrize("setup,args,fragment", [
    (lambda p: None, lambda p: (str(p), None), "Dockerfile"),
    (lambda p: None, lambda p: (str(p / "nope"), None), "not found or not a directory"),
    (lambda p: (p / "Dockerfile").write_bytes(b"\xff\xfe"), lambda p: (str(p), None), "not UTF-8"),
    (lambda p: (p / "D").mkdir(), lambda p: (str(p), str(p / "D")), "is a directory"),
])
def test_errors(tmp_path, setup, args, fragment):
    setup(tmp_path)
    with pytest.raises(BuildError, match=fragment):
        read_dockerfile(*args(tmp_path), None)


def test_the_one_reader_of_a_dockerfile_inside_a_context(tmp_path):
    # tar, git and API contexts all go through it: links resolve inside the context only,
    # only a regular file is read, bounded, UTF-8 with its BOM dropped
    import os
    from sampan.build.sources import DockerfileNotFound, read_inner_dockerfile
    from sampan.engine.build_archive import read_dockerfile as api_reader
    from sampan.errors import InvalidArgument
    ctx = tmp_path / "ctx"
    (ctx / "sub").mkdir(parents=True)
    (ctx / "sub" / "real").write_bytes(b"\xef\xbb\xbfFROM a\n")
    (ctx / "Dockerfile").symlink_to("sub/real")
    (ctx / "abs").symlink_to("/sub/real")           # absolute: the context's /sub/real
    outside = tmp_path / "secret"
    outside.write_text("FROM leaked\n")
    (ctx / "out").symlink_to(str(outside))          # the host's file: not found inside
    (ctx / "up").symlink_to("../secret")            # climbing stops at the context's root
    os.mkfifo(ctx / "fifo")
    (ctx / "big").write_bytes(b"#" * (16 << 20) + b"\n")
    (ctx / "latin").write_bytes(b"FROM caf\xe9\n")
    assert read_inner_dockerfile(ctx, "Dockerfile") == "FROM a\n"
    assert read_inner_dockerfile(ctx, "abs") == "FROM a\n"
    for name in ("out", "up", "nope"):
        with pytest.raises(DockerfileNotFound):
            read_inner_dockerfile(ctx, name)
        with pytest.raises(InvalidArgument, match=f"^Cannot locate specified Dockerfile: {name}$"):
            api_reader(ctx, name)
    for name, words in (("fifo", "not a regular file"), ("big", "larger than 16 MiB"), ("latin", "not UTF-8")):
        with pytest.raises(BuildError, match=words):
            read_inner_dockerfile(ctx, name)
        with pytest.raises(InvalidArgument, match=words):
            api_reader(ctx, name)
