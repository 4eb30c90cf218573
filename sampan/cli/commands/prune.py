"""What the prunes print, as docker/cli's cli/command/*/prune.go: one section a kind ("Deleted
Containers:" and the ids, each section followed by an empty line), then "Total reclaimed
space: 1.2MB" in Docker's decimal units (network prune prints no total)."""

from __future__ import annotations

from sampan.cli.output import human_size

def add_filter(p, example: str = "until=<timestamp>") -> None:
    p.add_argument("--filter", action="append", default=[], metavar="filter",
                   help=f'Provide filter values (e.g. "{example}")')


def section(title: str, ids: list[str]) -> None:
    """Docker's `Fprintln(out, "Title:\\nid\\n...")`: the section's last line, then an empty one."""
    if ids:
        print(f"{title}\n" + "".join(f"{i}\n" for i in ids))


def images_section(report) -> None:
    lines = []
    for r in report.images:  # moby's ImageDeleteResponseItem order: each image's tags, then its ids
        lines += [f"untagged: {t}" for t in r.untagged] + [f"deleted: {d}" for d in r.deleted]
    section("Deleted Images:", lines)


def total(space: int) -> None:
    print(f"Total reclaimed space: {human_size(space)}")


def filter_lines(filters: list[str]) -> list[str]:
    """The filters system prune's warning lists: only label=, label!= and until=, sorted."""
    return sorted(f for f in filters if f.partition("=")[0] in ("label", "label!", "until"))
