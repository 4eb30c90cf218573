"""`cp`: copy files/folders between a container and the local filesystem (Docker's)."""

from __future__ import annotations

import sys

from sampan.cli.args import Parser
from sampan.errors import InvalidArgument, SampanError

from typing import TYPE_CHECKING  # typing is loaded on every path that imports this
if TYPE_CHECKING:
    from typing import BinaryIO


def main(command: str, argv: list[str], g) -> int:
    from sampan.cli.cp_args import split_arg

    p = Parser(command, "Copy files/folders between a container and the local filesystem\n\n"
               "Use '-' as the source to read a tar archive from stdin and extract it to a\n"
               "directory destination in a container. Use '-' as the destination to stream\n"
               "a tar archive of a container source to stdout.")
    p.usage = ("sampan cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n"
               "       sampan cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH")
    p.add_argument("-a", "--archive", action="store_true",
                   help="Archive mode (copy all uid/gid information)")
    p.add_argument("-L", "--follow-link", action="store_true",
                   help="Always follow symbol link in SRC_PATH")
    p.add_argument("-q", "--quiet", action="store_true", help="Suppress progress output (there is none)")
    p.add_argument("source")
    p.add_argument("destination")
    ns = p.parse_args(argv)
    try:
        if not ns.source:
            raise InvalidArgument("source can not be empty")
        if not ns.destination:
            raise InvalidArgument("destination can not be empty")
        src_ctr, src = split_arg(ns.source)
        dst_ctr, dst = split_arg(ns.destination)
        if src_ctr and dst_ctr:
            raise InvalidArgument("copying between containers is not supported")
        if not src_ctr and not dst_ctr:
            raise InvalidArgument("must specify at least one container source")
        engine = g.engine()
        if src_ctr:
            out: str | BinaryIO = dst
            if dst == "-":
                if sys.stdout.isatty():
                    raise InvalidArgument("refusing to write a tar archive to a terminal: redirect it")
                out = sys.stdout.buffer
            engine.copy_from_container(src_ctr, src, out, follow_link=ns.follow_link,
                                       archive=ns.archive)
        else:
            engine.copy_to_container(dst_ctr, sys.stdin.buffer if src == "-" else src, dst,
                                     follow_link=ns.follow_link, archive=ns.archive)
    except SampanError as e:
        e.exit_code = 1  # every failure of `docker cp` exits 1
        raise
    return 0
