"""`image tree`: images drawn as a tree of the layers they share, with what sharing saves."""

from __future__ import annotations

from sampan.cli.args import Parser
from sampan.cli.output import human_size


def _line(node, prefix: str, last: bool, top: bool) -> list[str]:
    branch = "" if top else ("└─ " if last else "├─ ")
    made_by = " ".join(node.created_by.split())
    if len(made_by) > 60:
        made_by = made_by[:57] + "..."
    shared = f"  shared by {node.users}" if node.users > 1 else ""
    images = f"  <- {'; '.join(node.images)}" if node.images else ""
    out = [f"{prefix}{branch}{node.diff_id.split(':', 1)[-1][:12]}  {human_size(node.size):>8}  "
           f"{made_by or '(no history)'}{shared}{images}"]
    child_prefix = prefix + ("" if top else ("   " if last else "│  "))
    for i, child in enumerate(node.children):
        out += _line(child, child_prefix, i == len(node.children) - 1, False)
    return out


def main(command: str, argv: list[str], g) -> int:
    p = Parser("image tree", description="Show images as a tree of the layers they share: each "
               "layer's size, the instruction that made it, and the disk space sharing saves.")
    p.add_argument("images", nargs="*", help="Images to show (default: every tagged image)")
    ns = p.parse_args(argv)
    report = g.engine().images.tree(ns.images)
    for root in report.roots:
        for line in _line(root, "", True, True):
            print(line)
    saved = report.unshared - report.stored
    print(f"{report.images} image{'s' * (report.images != 1)}: {human_size(report.stored)} of layers stored; "
          f"{human_size(report.unshared)} if they shared none (sharing saves {human_size(saved)})")
    return 0
