"""`top`, `diff`, `commit`, `export`."""

from __future__ import annotations

import sys

from sampan.cli.args import Parser
from sampan.cli.output import table
from sampan.errors import InvalidArgument


def main(command: str, argv: list[str], g) -> int:
    p = Parser(command)
    if command == "commit":
        p.add_argument("-c", "--change", action="append", default=[], help="Apply a Dockerfile instruction")
        p.add_argument("-m", "--message", help="Commit message")
        p.add_argument("-a", "--author", help="Author")
        p.add_argument("-p", "--pause", action="store_true", help="Accepted for compatibility")
    if command == "export":
        p.add_argument("-o", "--output", help="Write to a file instead of STDOUT")
    p.add_argument("container")
    if command == "commit":
        p.add_argument("repository", nargs="?")
    ns = p.parse_args(argv)
    engine = g.engine()
    if command == "top":
        rows = engine.top(ns.container)
        table(["UID", "PID", "PPID", "CMD"], [[str(r["UID"]), str(r["PID"]), str(r["PPID"]), r["CMD"]] for r in rows])
    elif command == "diff":
        for kind, path in engine.diff(ns.container):
            print(f"{kind} {path}")
    elif command == "commit":
        print(engine.commit(ns.container, ns.repository, ns.change, ns.message, ns.author))
    elif command == "export":
        if ns.output:
            from sampan.cli.output import write_file_whole
            write_file_whole(ns.output, lambda f: engine.export(ns.container, f))
        else:
            if sys.stdout.isatty():
                raise InvalidArgument("refusing to write a tar archive to a terminal: use -o FILE or redirect")
            engine.export(ns.container, sys.stdout.buffer)
    return 0
