"""`attach`: the terminal to a running container's stdio, as `docker attach`."""

from __future__ import annotations

import sys

from sampan.cli.args import Parser
from sampan.errors import InvalidState


def main(command: str, argv: list[str], g) -> int:
    p = Parser("attach", "Attach local standard input, output, and error streams to a running container")
    p.add_argument("--detach-keys", help="Override the key sequence for detaching a container (default ctrl-p,ctrl-q)")
    p.add_argument("--no-stdin", action="store_true", help="Do not attach STDIN")
    p.add_argument("--sig-proxy", default="true", choices=("true", "false"),
                   help="Proxy all received signals to the process (default true)")
    p.add_argument("container")
    ns = p.parse_args(argv)
    from sampan.cli.attach_client import Detached, attach_session
    from sampan.cli.detach_keys import parse

    keys = parse(ns.detach_keys)
    engine = g.engine()
    rec = engine.container(ns.container)
    link = engine.attach(rec.id, running_only=True)
    conn = link.link(timeout=2.0)
    if conn is None:
        link.close()
        raise InvalidState("You cannot attach to a stopped container, start it first", exit_code=1)
    stdin = not ns.no_stdin and bool(rec.config.get("open_stdin"))
    try:
        return attach_session(conn, tty=bool(rec.config.get("tty")), stdin=stdin,
                              on_lost=lambda: engine.monitor_lost(rec.id), detach_keys=keys,
                              sig_proxy=ns.sig_proxy == "true")
    except Detached:
        sys.stderr.write("read escape sequence\n")  # as Docker's attach: it exits 1 there
        return 1
