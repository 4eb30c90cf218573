"""`start`."""

from __future__ import annotations

import sys

from sampan.cli.args import Parser
from sampan.errors import SampanError


def main(command: str, argv: list[str], g) -> int:
    p = Parser("start", "Start one or more stopped containers")
    p.add_argument("-a", "--attach", action="store_true", help="Attach STDOUT/STDERR and forward signals")
    p.add_argument("-i", "--interactive", action="store_true", help="Attach the container's STDIN")
    p.add_argument("--detach-keys", help="Override the key sequence for detaching a container (default ctrl-p,ctrl-q)")
    p.add_argument("containers", nargs="+")
    ns = p.parse_args(argv)
    engine = g.engine()
    if ns.attach or ns.interactive:
        if len(ns.containers) > 1:
            raise SampanError("you cannot start and attach multiple containers at once")
        from sampan.cli.attach_client import Detached, attach_session
        from sampan.cli.detach_keys import parse
        keys = parse(ns.detach_keys)
        rec = engine.container(ns.containers[0])
        started = engine.start(rec.id, attach=True, interactive=ns.interactive)
        try:
            return attach_session(started.conn, tty=rec.config["tty"], stdin=ns.interactive,
                                  on_lost=lambda: engine.monitor_lost(rec.id), detach_keys=keys)
        except Detached:
            return 0
    failed = 0
    for ref in ns.containers:
        try:
            engine.start(ref)
            print(ref)
        except SampanError as e:
            sys.stderr.write(f"sampan: {ref}: {e.message}\n")
            failed = e.exit_code
    return failed
