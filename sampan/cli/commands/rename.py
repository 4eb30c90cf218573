"""`rename`."""

from __future__ import annotations

from sampan.cli.args import Parser


def main(command: str, argv: list[str], g) -> int:
    p = Parser("rename", "Rename a container (running or not; peers on its networks find the new name)")
    p.add_argument("container")
    p.add_argument("new_name")
    ns = p.parse_args(argv)
    g.engine().rename(ns.container, ns.new_name)
    return 0
