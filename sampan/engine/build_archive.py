"""A build whose context arrives as a tar archive (the API's POST /build body).

The archive is the client's and hostile: it is unpacked with the hardened extractor
(store/extract_at.py: no member lands outside the scratch directory, symlinks are
resolved inside it, no device nodes), and the Dockerfile is read by the CLI's reader
(build/sources.py), inside the context, never through a symlink or `..` that leaves it. The scratch directory is
under the run root and removed afterwards, whatever happens.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable

from sampan.engine.context import Context
from sampan.engine.options import ArchiveBuildOptions
from sampan.engine.reports import BuildEvent
from sampan.errors import BuildError, InvalidArgument

def inner_path(name: str) -> str:
    """The Dockerfile's path relative to the context, as the API's client's fault (400)."""
    from sampan.build.sources import inner_path as checked
    try:
        return checked(name)
    except BuildError as e:
        raise InvalidArgument(e.message) from None


def unpack_context(tar_path: str, dest: Path) -> None:
    """The API's context tar, through the CLI's hardened unpacking; its faults are the
    client's (400), so they say so as InvalidArgument."""
    from sampan.build.sources import unpack_tar
    try:
        with open(tar_path, "rb") as stream:
            unpack_tar(stream, dest)
    except BuildError as e:
        raise InvalidArgument(e.message) from None


def read_dockerfile(context: Path, name: str) -> str:
    """The CLI's reader (build/sources.py); its faults are the client's, in Docker's words."""
    from sampan.build.sources import DockerfileNotFound, read_inner_dockerfile
    try:
        return read_inner_dockerfile(context, name)
    except DockerfileNotFound:
        raise InvalidArgument(f"Cannot locate specified Dockerfile: {name}") from None
    except BuildError as e:
        raise InvalidArgument(e.message) from None


def build_archive(engine, tar_path: str, opts: ArchiveBuildOptions,
                  on_event: Callable[[BuildEvent], None]) -> tuple[str, list[str]]:
    """Unpack, build, clean up. `on_event` gets the build's progress as it comes (nothing
    with ``quiet``). Returns (image id, tags)."""
    from sampan.build.executor import BuildOptions
    ctx: Context = engine.ctx
    name = inner_path(opts.dockerfile or "Dockerfile")
    scratch = ctx.paths.runroot / "api-build"
    scratch.mkdir(parents=True, exist_ok=True, mode=0o700)
    sweep_stale(scratch)
    workdir = Path(tempfile.mkdtemp(prefix=f"context-{os.getpid()}-", dir=scratch))
    try:
        source = None
        if opts.remote:  # a git URL (docker-py's `remote`); the body is not read
            from sampan.build.sources import ContextSource, check_git_url, is_git_url
            if not is_git_url(opts.remote):
                raise InvalidArgument(f"remote context {opts.remote!r}: only git URLs are supported "
                                      "(send other contexts as a tar body)")
            try:
                check_git_url(opts.remote)
            except BuildError as err:
                raise InvalidArgument(err.message) from None
            source, context, text = ContextSource("git", url=opts.remote), None, ""
        else:
            context = workdir / "context"
            context.mkdir(mode=0o755)
            unpack_context(tar_path, context)
            text = read_dockerfile(context, name)
        options = BuildOptions(dockerfile_text=text, context_dir=context, dockerfile_name=name,
                               tags=list(opts.tags), build_args=dict(opts.build_args), target=opts.target,
                               no_cache=opts.no_cache, labels=dict(opts.labels),
                               cache_from=list(opts.cache_from or []), context_source=source)
        result = engine.build(options, "quiet" if opts.quiet else "plain", None, pull=opts.pull,
                              auths=dict(opts.auths) or None, on_event=on_event)
        return result.image_id, list(result.tags)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def sweep_stale(scratch: Path) -> None:
    """Contexts of builds whose process was killed (its client hung up): a killed process
    runs no `finally`, so the next build removes what it left."""
    for entry in scratch.iterdir():
        parts = entry.name.split("-")
        if len(parts) < 3 or not parts[1].isdigit():
            continue
        try:
            os.kill(int(parts[1]), 0)
        except ProcessLookupError:
            shutil.rmtree(entry, ignore_errors=True)
        except PermissionError:
            pass
