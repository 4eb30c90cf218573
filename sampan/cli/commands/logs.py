"""`logs`."""

from __future__ import annotations

import sys

from sampan.cli.args import Parser
from sampan.errors import InvalidArgument


def main(command: str, argv: list[str], g) -> int:
    p = Parser("logs", "Fetch the logs of a container")
    p.add_argument("-f", "--follow", action="store_true", help="Follow log output")
    p.add_argument("-n", "--tail", default="all", help="Number of lines to show from the end")
    p.add_argument("-t", "--timestamps", action="store_true", help="Show timestamps")
    p.add_argument("--since", help="Show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or relative "
                   "(e.g. 42m for 42 minutes)")
    p.add_argument("--until", help="Show logs before a timestamp (e.g. 2013-01-02T13:23:37Z) or relative "
                   "(e.g. 42m for 42 minutes)")
    p.add_argument("--details", action="store_true", help="Show extra details provided to logs")
    p.add_argument("container")
    ns = p.parse_args(argv)
    tail = None
    if ns.tail != "all":
        from sampan.specgen.units import INT64_MAX, parse_int
        try:
            n = parse_int(ns.tail, "--tail", -INT64_MAX)
        except InvalidArgument:
            raise InvalidArgument(f"invalid --tail {ns.tail[:40]!r}: a number of lines, or all") from None
        tail = n if n >= 0 else None
    out, err = sys.stdout.buffer, sys.stderr.buffer
    for rec in g.engine().logs(ns.container, tail=tail, follow=ns.follow, since=ns.since, until=ns.until,
                               details=ns.details):
        line = rec["log"].encode()
        if ns.timestamps:
            line = rec.get("time", "").encode() + b" " + line
        stream = err if rec.get("stream") == "stderr" else out
        stream.write(line)
        stream.flush()
    return 0
