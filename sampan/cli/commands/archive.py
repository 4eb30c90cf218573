"""`save` and `load`."""

from __future__ import annotations

import sys

from sampan.cli.args import Parser
from sampan.errors import InvalidArgument


def main(command: str, argv: list[str], g) -> int:
    p = Parser(command)
    if command == "save":
        p.add_argument("-o", "--output", help="Write to a file, instead of STDOUT")
        p.add_argument("--format", choices=["docker", "oci"], default="docker",
                       help="Archive format: docker (default; loads in docker and podman) or oci")
        p.add_argument("images", nargs="+")
        ns = p.parse_args(argv)
        engine = g.engine()
        if not ns.output:
            if sys.stdout.isatty():
                raise InvalidArgument("refusing to write a tar archive to a terminal: use -o FILE or redirect")
            engine.images.save(ns.images, sys.stdout.buffer, ns.format)
            return 0
        from sampan.cli.output import write_file_whole
        write_file_whole(ns.output, lambda f: engine.images.save(ns.images, f, ns.format))
        return 0
    p.add_argument("-i", "--input", help="Read from a tar archive file, instead of STDIN")
    p.add_argument("-q", "--quiet", action="store_true", help="Suppress the load output")
    ns = p.parse_args(argv)
    engine = g.engine()
    if ns.input:
        try:
            archive = open(ns.input, "rb")
        except OSError as e:
            raise InvalidArgument(f"cannot open {ns.input}: {e.strerror}") from None
        with archive:
            loaded = engine.images.load(archive)
    else:
        if sys.stdin.isatty():
            raise InvalidArgument("no archive given: use -i FILE or pipe one to STDIN")
        loaded = engine.images.load(sys.stdin.buffer)
    if not ns.quiet:
        for ref in loaded:
            print(f"Loaded image: {ref}" if not ref.startswith("sha256:") else f"Loaded image ID: {ref}")
    return 0
