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
    from sampan.build.executor import BuildOptions, parse_build_args
    from sampan.build.inputs import read_dockerfile

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
    p.add_argument("context", help="Context directory, or - for a Dockerfile on STDIN")
    ns = p.parse_args(argv)
    if ns.network not in ("default", "bridge", "none", "host"):
        raise InvalidArgument(f"invalid --network {ns.network!r} for build: default, none or host")
    text, ctx_dir, name, path = read_dockerfile(ns.context, ns.file, sys.stdin.buffer)
    opts = BuildOptions(dockerfile_text=text, context_dir=ctx_dir.resolve() if ctx_dir else None,
                        dockerfile_name=name, dockerfile_path=path, tags=list(ns.tag),
                        build_args=parse_build_args(ns.build_arg, dict(os.environ)), target=ns.target,
                        no_cache=ns.no_cache, network=ns.network, labels=key_values(ns.label, "label"))
    mode = "quiet" if ns.quiet else ns.progress
    pull = {"true": "always", "false": "missing"}.get(ns.pull, ns.pull)
    _stop_cleanly_on_signals()
    result = g.engine().build(opts, mode, sys.stderr, pull=pull)
    if ns.quiet:
        print(result.image_id)
    return 0
