"""Build contexts that are not a local directory: a tar archive (a file, or `-` on stdin:
a tar, plain or compressed, or else a Dockerfile alone, as Docker tells them apart) and
a git repository (`URL#ref:subdir`, as Docker's).

Both are hostile input. A tar is unpacked by the hardened extractor (no member lands
outside the context, no device node, owners dropped). git runs with hooks off, only the
transports a user means (https, http, git, ssh, and file for the top-level repository
only: a submodule's URL comes from the repository and may not read the host's repos;
never `ext::` or another remote helper), a fresh HOME-less config, and no prompt. The
Dockerfile is opened inside the context, never through a link or `..` that leaves it.
"""

from __future__ import annotations

import os
import posixpath
import re
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sampan.build.inputs import MAX_DOCKERFILE, decode_dockerfile
from sampan.errors import BuildError

_GIT_PREFIXES = ("git://", "git@", "github.com/", "file://", "ssh://")
_HTTP_GIT = re.compile(r"^https?://.*\.git(?:#.+)?$")
_GIT_PROTOCOLS = ("https", "http", "git", "ssh")
_HELPER = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*::")  # git's <transport>::<address> (ext::, fd::)


@dataclass
class ContextSource:
    """Where a context comes from when it is not a directory: kind "tar" (`stream`, a binary
    file object; `head`, bytes already read from it) or "git" (`url`)."""
    kind: str
    stream: BinaryIO | None = None
    head: bytes = b""
    url: str = ""


def is_git_url(text: str) -> bool:
    """Docker's git contexts (git://, git@, github.com/, https://...x.git[#...]), plus
    file:// URLs and a local repository named with a fragment (`/path/repo#main:dir`)."""
    if text.startswith(_GIT_PREFIXES) or _HTTP_GIT.match(text) or _HELPER.match(text):
        return True  # (a <transport>:: URL only to be refused by name)
    path, sep, _ = text.partition("#")
    return bool(sep) and os.path.isdir(path) and (os.path.exists(os.path.join(path, ".git"))
                                                   or os.path.isfile(os.path.join(path, "HEAD")))


def looks_like_archive(head: bytes) -> bool:
    """A tar (ustar magic at 257) or a compressed stream (gzip, bzip2, xz, zstd), as
    Docker's CLI decides that `build -` got a context rather than a Dockerfile."""
    if head.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd")):
        return True
    return len(head) >= 262 and head[257:262] == b"ustar"


class _Prefixed:
    """A stream with bytes already read from it put back in front."""

    def __init__(self, head: bytes, rest: BinaryIO):
        self.head, self.rest = head, rest

    def read(self, n: int = -1) -> bytes:
        if self.head:
            if n < 0:
                data, self.head = self.head + self.rest.read(), b""
                return data
            data, self.head = self.head[:n], self.head[n:]
            return data
        return self.rest.read(n)


def unpack_tar(stream: BinaryIO, dest: Path) -> None:
    from sampan.errors import UnsafeArchive
    from sampan.store.extract_at import ExtractOptions, extract_at
    try:
        tar = tarfile.open(fileobj=stream, mode="r|*")
    except (tarfile.TarError, EOFError, OSError):
        raise BuildError("the build context is not a tar archive (plain or compressed)") from None
    rootfd = os.open(dest, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        with tar:
            extract_at(tar, rootfd, "/", ExtractOptions(keep_owner=False, devices=False))
    except UnsafeArchive as err:
        raise BuildError(f"build context: {err}") from None
    except (tarfile.TarError, EOFError) as err:
        raise BuildError(f"the build context is not a valid tar archive: {err}") from None
    finally:
        os.close(rootfd)


def inner_path(name: str) -> str:
    """The Dockerfile's path inside a context that came as a tar or a repository."""
    if not name or "\0" in name:
        raise BuildError("the Dockerfile name is empty")
    clean = posixpath.normpath(name.lstrip("/"))
    if clean == ".." or clean.startswith("../"):
        raise BuildError(f"the Dockerfile {name!r} is outside the build context")
    return clean


class DockerfileNotFound(BuildError):
    """The named Dockerfile is not in the context (the API says it in Docker's words)."""


def read_inner_dockerfile(context: Path, name: str) -> str:
    """Opened inside the context: links resolved in it, never out of it; a regular file only
    (a FIFO must not hang the build), bounded. The one reader for tar, git and API contexts."""
    from sampan.state import inroot
    rootfd = os.open(context, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fd = inroot.open_in_root(rootfd, name, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        raise DockerfileNotFound(f"unable to prepare context: Dockerfile {name!r} not found in the context") from None
    finally:
        os.close(rootfd)
    with os.fdopen(fd, "rb") as f:
        if not os.path.isfile(f"/proc/self/fd/{fd}"):
            raise BuildError(f"unable to prepare context: {name!r} is not a regular file")
        data = f.read(MAX_DOCKERFILE + 1)
    return decode_dockerfile(data, repr(name))


def prepare(source: ContextSource, dest: Path) -> Path:
    """Unpack or clone into `dest` (a new empty dir of the build's); the context dir."""
    os.chmod(dest, 0o755)  # a bind mount of the context shows this mode
    if source.kind == "tar":
        assert source.stream is not None  # a tar source has its stream
        unpack_tar(_Prefixed(source.head, source.stream), dest)  # type: ignore[arg-type]  # read() is all it needs
        return dest
    return clone(source.url, dest)


def _git_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "SSH_AUTH_SOCK", "http_proxy",
                                                        "https_proxy", "HTTP_PROXY", "HTTPS_PROXY",
                                                        "no_proxy", "NO_PROXY")}
    env.update(GIT_TERMINAL_PROMPT="0", GIT_CONFIG_NOSYSTEM="1", LC_ALL="C",
               GIT_PROTOCOL_FROM_USER="0")  # "user"-allowed transports: refused for submodules
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    return env


def check_git_url(url: str) -> None:
    """Refuse what git must never be asked to fetch (before any work starts)."""
    _split_url(url)


def _split_url(url: str) -> tuple[str, str, str]:
    remote, _, fragment = url.partition("#")
    ref, _, subdir = fragment.partition(":")
    if remote.startswith("github.com/"):
        remote = "https://" + remote
    if not remote or remote.startswith("-") or _HELPER.match(remote):
        raise BuildError(f"unsupported git URL {url!r}")
    scheme = remote.split("://", 1)[0] if "://" in remote else ""
    if scheme and scheme not in _GIT_PROTOCOLS + ("file",):
        raise BuildError(f"unsupported git transport {scheme!r} in {url!r} (https, http, git, ssh or file)")
    if ref.startswith("-"):
        raise BuildError(f"invalid git reference {ref!r}")
    return remote, ref, subdir


def _git(args: list[str], cwd: Path, file_ok: bool) -> None:
    allow = ["-c", "protocol.allow=never"]
    for proto in _GIT_PROTOCOLS:
        allow += ["-c", f"protocol.{proto}.allow=always"]
    allow += ["-c", f"protocol.file.allow={'always' if file_ok else 'never'}",
              "-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false",
              "-c", "submodule.recurse=false", "-c", "init.defaultBranch=main"]
    try:
        r = subprocess.run(["git", *allow, *args], cwd=cwd, env=_git_env(), capture_output=True,
                           stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise BuildError("a git context needs git: install it (apt-get install git)") from None
    if r.returncode != 0:
        lines = [l for l in r.stderr.decode(errors="replace").splitlines() if l.strip()]
        raise BuildError(f"unable to prepare context: git {args[0]} failed: "
                         f"{lines[-1] if lines else 'exit code ' + str(r.returncode)}")


def clone(url: str, dest: Path) -> Path:
    """A shallow fetch of `ref` (default HEAD) and its checkout, submodules as Docker
    (recursive, depth 1); returns the context: the checkout or its `subdir`."""
    remote, ref, subdir = _split_url(url)
    if not remote.startswith(tuple(f"{p}://" for p in _GIT_PROTOCOLS)) and not remote.startswith("git@"):
        if not remote.startswith("file://"):
            remote = "file://" + os.path.abspath(remote)
    repo = dest / "repo"
    repo.mkdir()
    _git(["init", "-q", "."], repo, True)
    _git(["fetch", "-q", "--depth", "1", "--no-tags", "--no-recurse-submodules", remote, ref or "HEAD"],
         repo, True)
    _git(["checkout", "-q", "FETCH_HEAD"], repo, False)
    if (repo / ".gitmodules").is_file():
        _git(["submodule", "-q", "update", "--init", "--recursive", "--depth", "1"], repo, False)
    shutil.rmtree(repo / ".git", ignore_errors=True)  # BuildKit leaves it out of the context
    os.chmod(repo, 0o755)
    if not subdir:
        return repo
    base = os.path.realpath(repo)
    inside = os.path.realpath(os.path.join(base, subdir.lstrip("/")))
    if inside != base and not inside.startswith(base + "/"):
        raise BuildError(f"the git context's subdirectory {subdir!r} is outside the repository")
    if not os.path.isdir(inside):
        raise BuildError(f"the git context's subdirectory {subdir!r} is not a directory")
    return Path(inside)
