"""`build`: a Dockerfile and a context directory to an image."""

from __future__ import annotations

import os
import sys

from sampan.cli.args import Parser, key_values
from sampan.errors import InvalidArgument, SampanError

_STOP_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")


def _stop_cleanly_on_signals() -> None:
    """SIGTERM and SIGHUP would end the process without unwinding: a RUN step's container,
    mount and sandbox would stay (until the build's guard or the next build swept them).
    Raise instead, as SIGINT does, and ignore further signals while the build cleans up."""
    import signal

    def stop(signum, frame):
        for name in _STOP_SIGNALS:
            signal.signal(getattr(signal, name), signal.SIG_IGN)
        raise SampanError(f"build stopped by {signal.Signals(signum).name}", exit_code=128 + signum)

    for name in _STOP_SIGNALS:
        signal.signal(getattr(signal, name), stop)


def main(command: str, argv: list[str], g) -> int:
    if command == "builder":
        return builder(argv, g)
    from sampan.build.executor import BuildOptions, parse_build_args
    from sampan.build.run_mounts import parse_secret_flag

    p = Parser("build", "Build an image from a Dockerfile")
    p.add_argument("-t", "--tag", action="append", default=[], help="Name and optionally a tag (name:tag)")
    p.add_argument("-f", "--file", help="Name of the Dockerfile (default: CONTEXT/Dockerfile)")
    p.add_argument("--build-arg", action="append", default=[], help="Set a build-time variable")
    p.add_argument("--target", help="Set the target build stage to build")
    p.add_argument("--no-cache", action="store_true", help="Do not use cache when building the image")
    p.add_argument("--pull", nargs="?", const="always", default="missing",
                   choices=["missing", "always", "never", "true", "false"],
                   help="Pull base images: missing (default, as Docker), always (--pull), never")
    p.add_argument("--network", default="default", help="Network for RUN steps: default, none or host")
    p.add_argument("-q", "--quiet", action="store_true", help="Suppress the build output, print the image ID")
    p.add_argument("--progress", choices=["auto", "plain", "tty", "quiet"], default="auto",
                   help="Type of progress output")
    p.add_argument("--label", action="append", default=[], help="Set metadata for an image")
    p.add_argument("--platform", help="Accepted: builds are for this host's platform")
    p.add_argument("--secret", action="append", default=[],
                   help="Secret to expose to RUN --mount=type=secret: id=ID,src=FILE or id=ID,env=VAR")
    p.add_argument("--iidfile", help="Write the image ID to the file")
    p.add_argument("-o", "--output", action="append", default=[],
                   help="Output destination: type=local,dest=DIR or type=tar,dest=FILE (the image's "
                   "filesystem; dest=- for STDOUT), type=image,name=REF or type=docker[,name=REF] (store "
                   "and tag the image; type=docker,dest=FILE: a `save` archive of it)")
    p.add_argument("--cache-from", action="append", default=[], help="Images to consider as cache sources")
    p.add_argument("context", help="Context: a directory, a tar archive, a git URL (URL#ref:dir), "
                   "or - (a tar or a Dockerfile on STDIN)")
    ns = p.parse_args(argv)
    if ns.network not in ("default", "bridge", "none", "host"):
        raise InvalidArgument(f"invalid --network {ns.network!r} for build: default, none or host")
    if ns.iidfile:
        try:  # Docker: no stale id is left behind by a build that fails
            os.unlink(ns.iidfile)
        except FileNotFoundError:
            pass
        except OSError as err:
            raise InvalidArgument(f"cannot remove the --iidfile {ns.iidfile!r}: {err.strerror}") from None
    if len(ns.output) > 1:  # the Docker daemon's builder takes one exporter (moby builder-next)
        raise InvalidArgument("multiple outputs not supported")
    output = parse_output(ns.output[0]) if ns.output else None
    archive = None  # type=docker,dest=...: the image saved there after the build
    if output is not None and output[0] in ("image", "docker"):
        kind, dest, names = output
        if not ns.tag:  # BuildKit: -t names the image and overrides name= (buildx's exporter names)
            ns.tag = names
        archive = dest or None
        output = None
    secrets = {}
    for item in ns.secret:
        try:
            ident, data = parse_secret_flag(item, dict(os.environ))
        except ValueError as err:
            raise InvalidArgument(str(err)) from None
        secrets[ident] = data
    source, text, ctx_dir, name, path = _context(ns)
    opts = BuildOptions(dockerfile_text=text, context_dir=ctx_dir.resolve() if ctx_dir else None,
                        dockerfile_name=name, dockerfile_path=path, tags=list(ns.tag),
                        build_args=parse_build_args(ns.build_arg, dict(os.environ)), target=ns.target,
                        no_cache=ns.no_cache, network=ns.network, labels=key_values(ns.label, "label"),
                        secrets=secrets, cache_from=list(ns.cache_from), context_source=source)
    mode = "quiet" if ns.quiet else ns.progress
    pull = {"true": "always", "false": "missing"}.get(ns.pull, ns.pull)
    _stop_cleanly_on_signals()
    out_stream = None
    if (output is not None and output[1] == "-") or archive == "-":
        out_stream = sys.stdout.buffer
        if out_stream.isatty():
            raise InvalidArgument("refusing to write the output tar to a terminal: use -o type=tar,dest=FILE")
    engine = g.engine()
    result = engine.build(opts, mode, sys.stderr, pull=pull, output=output and output[:2],
                          output_stream=out_stream)
    if archive is not None:
        _save(engine, list(ns.tag) or [result.image_id], archive, out_stream)
    if ns.iidfile:
        with open(ns.iidfile, "w") as f:
            f.write(result.image_id)
    if ns.quiet and out_stream is None:
        print(result.image_id)
    return 0


def parse_output(text: str) -> tuple[str, str, list[str]]:
    """`-o type=local,dest=DIR`, `type=tar,dest=FILE`, `-o DIR`, `-o -` (a tar on STDOUT),
    `type=image,name=REF[,push=false]`, `type=docker[,name=REF][,dest=FILE]`: (type, dest, names)."""
    if "=" not in text:
        return ("tar", "-", []) if text == "-" else ("local", os.path.abspath(text), [])
    fields: dict[str, str] = {}
    names: list[str] = []
    for item in _csv_fields(text):
        k, eq, v = item.partition("=")
        if not eq:
            raise InvalidArgument(f"invalid --output {text!r}: expected type=local|tar,dest=PATH")
        k = k.strip().lower()
        if k == "name":  # BuildKit: several names, comma-separated inside quotes
            names += [n.strip() for n in v.split(",") if n.strip()]
        else:
            fields[k] = v
    kind = fields.pop("type", "local")
    dest = fields.pop("dest", "")
    if kind not in ("local", "tar", "image", "docker"):
        raise InvalidArgument(f"unsupported --output type {kind!r}: local, tar, image or docker")
    if kind in ("image", "docker"):
        if fields.pop("push", "false").lower() not in ("false", "0"):
            raise InvalidArgument("--output push=true is not supported: build, then `sampan push`")
        if kind == "image" and dest:
            raise InvalidArgument("--output type=image takes no dest: it stores the image (type=docker,dest=FILE "
                                  "writes an archive)")
    elif names:
        raise InvalidArgument(f"unsupported --output field 'name' for type={kind}")
    if fields:
        raise InvalidArgument(f"unsupported --output field {next(iter(fields))!r}")
    if kind in ("image", "docker"):
        return kind, dest if dest in ("", "-") else os.path.abspath(dest), names
    if not dest or (dest == "-" and kind == "local"):
        raise InvalidArgument(f"--output type={kind} needs dest=" + ("DIR" if kind == "local" else "FILE or -"))
    return kind, dest if dest == "-" else os.path.abspath(dest), []


def _csv_fields(text: str) -> list[str]:
    """BuildKit's --output is a CSV record: a field in double quotes may hold commas."""
    import csv
    try:
        [row] = list(csv.reader([text], strict=True))
    except (csv.Error, ValueError):
        raise InvalidArgument(f"invalid --output {text[:200]!r}: not a CSV record") from None
    return row


def _save(engine, refs: list[str], dest: str, stream) -> None:
    """type=docker,dest=: the built image as a `docker save` archive (written whole, then moved)."""
    if stream is not None:
        engine.images.save(refs, stream)
        stream.flush()
        return
    from sampan.cli.output import write_file_whole
    try:
        write_file_whole(dest, lambda f: engine.images.save(refs, f))
    except FileNotFoundError:
        raise InvalidArgument(f"--output: cannot write {dest!r}: its directory does not exist") from None


def _context(ns):
    """(context source, Dockerfile text, context dir, name, path) from the context argument:
    a directory; `-` with a tar (a context) or a Dockerfile; a tar file; a git URL."""
    from sampan.build.inputs import read_dockerfile
    from sampan.build.sources import ContextSource, _Prefixed, is_git_url, looks_like_archive

    arg = ns.context
    if arg == "-":
        stdin = sys.stdin.buffer
        head = stdin.read(512)
        if looks_like_archive(head):
            if ns.file == "-":
                raise InvalidArgument("the context and the Dockerfile cannot both come from STDIN")
            return ContextSource("tar", stream=stdin, head=head), "", None, ns.file or "Dockerfile", None
        text, ctx_dir, name, path = read_dockerfile(arg, ns.file, _Prefixed(head, stdin))
        return None, text, ctx_dir, name, path
    if is_git_url(arg) or (os.path.isfile(arg) and not os.path.isdir(arg)):
        source = ContextSource("git", url=arg) if is_git_url(arg) else ContextSource("tar", stream=_open_tar(arg))
        if ns.file == "-":
            text, _, name, _ = read_dockerfile("-", None, sys.stdin.buffer)
            return source, text, None, name, None
        return source, "", None, ns.file or "Dockerfile", None
    text, ctx_dir, name, path = read_dockerfile(arg, ns.file, sys.stdin.buffer)
    return None, text, ctx_dir, name, path


def _open_tar(path: str):
    try:
        return open(path, "rb")
    except OSError as err:
        raise InvalidArgument(f"unable to prepare context: cannot read {path!r}: {err.strerror}") from None


def builder(argv: list[str], g) -> int:
    """`builder prune`: the build cache (cached steps, RUN --mount=type=cache dirs)."""
    if not argv or argv[0] in ("-h", "--help") or argv[0] != "prune":
        print("Usage:  sampan builder COMMAND\n\nCommands:\n  prune     Remove build cache")
        return 0 if argv and argv[0] in ("-h", "--help") else 125
    p = Parser("builder prune", "Remove build cache")
    p.add_argument("-a", "--all", action="store_true", help="Remove all unused build cache, not just dangling ones")
    from sampan.cli.commands import prune
    prune.add_filter(p, "until=24h")
    p.add_argument("-f", "--force", action="store_true", help="Do not prompt for confirmation")
    ns = p.parse_args(argv[1:])
    if not ns.force:  # docker/cli's builder warning is one line, unlike the other prunes'
        sys.stdout.write(f"WARNING! This will remove all {'' if ns.all else 'dangling '}build cache. "
                         "Are you sure you want to continue? [y/N] ")
        sys.stdout.flush()
        if sys.stdin.readline().strip().lower() != "y":
            return 0
    from sampan.engine.options import PruneOptions
    report = g.engine().build_prune(PruneOptions(filters=ns.filter))
    prune.section("Deleted build cache objects:", report.deleted)
    prune.total(report.space_reclaimed)
    return 0
    steps, mounts = g.engine().build_prune()
    print(f"Deleted build cache: {steps} step(s), {mounts} cache mount(s)")
    return 0
