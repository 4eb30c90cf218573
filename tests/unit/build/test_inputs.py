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
