"""Where the Dockerfile and context come from: `CONTEXT`, `-f FILE`, `-` (stdin)."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from sampan.errors import BuildError

MAX_DOCKERFILE = 16 << 20  # every reader of a Dockerfile: a CLI path, stdin, inside a context


def read_dockerfile(context: str, file: str | None, stdin: BinaryIO | None) -> tuple[str, Path | None, str, Path | None]:
    """(dockerfile text, context dir or None, name for messages, path for <file>.dockerignore).

    Docker's rules: `CONTEXT` = `-` reads the Dockerfile from stdin with no
    context; `-f -` reads it from stdin with CONTEXT as the context; `-f FILE`
    is relative to the current directory; the default is CONTEXT/Dockerfile.
    """
    if context == "-":
        if file not in (None, "-"):
            raise BuildError("`-f` cannot name a file when the Dockerfile comes from stdin (`-`)")
        return _from_stdin(stdin), None, "Dockerfile", None
    ctx = Path(context)
    if not ctx.is_dir():
        raise BuildError(f"unable to prepare context: path {context!r} not found or not a directory")
    if file == "-":
        return _from_stdin(stdin), ctx, "Dockerfile", None
    path = Path(file) if file else ctx / "Dockerfile"
    try:
        with path.open("rb") as f:  # bounded: `-f /dev/zero` must not fill the memory
            data = f.read(MAX_DOCKERFILE + 1)
    except FileNotFoundError:
        raise BuildError(f"unable to prepare context: Dockerfile {str(path)!r} not found "
                         "(use -f to name another file)") from None
    except IsADirectoryError:
        raise BuildError(f"unable to prepare context: {str(path)!r} is a directory, not a Dockerfile") from None
    except OSError as err:
        raise BuildError(f"cannot read Dockerfile {str(path)!r}: {err.strerror}") from None
    return decode_dockerfile(data, str(path)), ctx, path.name, path


def _from_stdin(stdin: BinaryIO | None) -> str:
    if stdin is None:
        raise BuildError("the Dockerfile should come from stdin (`-`) but there is no stdin")
    return decode_dockerfile(stdin.read(MAX_DOCKERFILE + 1), "stdin")


def decode_dockerfile(data: bytes, where: str) -> str:
    """Text of a Dockerfile read with at most MAX_DOCKERFILE + 1 bytes: UTF-8, its BOM dropped."""
    if len(data) > MAX_DOCKERFILE:
        raise BuildError(f"Dockerfile from {where} is larger than 16 MiB")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]  # Docker ignores a UTF-8 byte order mark
    try:
        return data.decode()
    except UnicodeDecodeError:
        raise BuildError(f"Dockerfile from {where} is not UTF-8 text") from None
