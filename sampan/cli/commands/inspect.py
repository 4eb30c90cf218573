"""`inspect`: containers and images, JSON like Docker's."""

from __future__ import annotations

import sys

from sampan.cli.args import Parser
from sampan.cli.output import show_objects
from sampan.errors import NotFound


def main(command: str, argv: list[str], g) -> int:
    p = Parser("inspect", "Return low-level information on containers and images")
    p.add_argument("-f", "--format", help="Format output using a Go template ('json', '{{.State.Status}}')")
    p.add_argument("--type", choices=["container", "image", "volume"], help="Only look for this type")
    p.add_argument("names", nargs="+")
    ns = p.parse_args(argv)
    engine = g.engine()
    results, code = [], 0
    for name in ns.names:
        obj = None
        for kind in ([ns.type] if ns.type else ["container", "image"]):
            try:
                if kind == "container":
                    obj = engine.containers.inspect(name)
                elif kind == "image":
                    obj = engine.images.inspect(name)
                else:
                    obj = engine.volumes.inspect(name)
                break
            except NotFound:
                continue
        if obj is None:
            sys.stderr.write(f"sampan: No such object: {name}\n")
            code = 1
            continue
        results.append(obj)
    return show_objects(results, ns.format) or code
