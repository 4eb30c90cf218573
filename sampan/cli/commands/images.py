"""`images`, `import`, `tag`, `rmi`, `history`, and image inspect."""

from __future__ import annotations

import sys

from sampan.cli.args import Parser
from sampan.cli.output import human_size, report_items, table
from sampan.errors import InvalidArgument
from sampan.oci.times import ago


def _images(ns, engine) -> int:
    from sampan.engine.options import ListOptions

    filters = list(ns.filter) + ([f"reference={ns.repository}"] if ns.repository else [])
    imgs = engine.images.list(ListOptions(all=ns.all, filters=filters))
    need_digest = ns.digests or bool(ns.format and "{{.Digest}}" in ns.format)
    rows = []
    for img in imgs:
        for repo, tag, _ in image_rows(img, need_digest, ns.digests):
            rows.append({"Repository": repo, "Tag": tag, "ID": img.id if ns.no_trunc else img.short_id,
                         "CreatedSince": ago(img.created), "Size": human_size(img.size)})
    if ns.quiet:
        seen = []
        for r in rows:
            if r["ID"] not in seen:
                seen.append(r["ID"])
        print("\n".join(seen) if seen else "", end="\n" if seen else "")
        return 0
    if ns.format or ns.digests:
        from sampan.cli.formatters import ImageContext
        from sampan.cli.output import write_formatted
        # Docker's --digests: a DIGEST column after TAG
        fmt = ns.format or ("table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}"
                            "\t{{.Size}}")
        write_formatted(fmt, [ImageContext(img, repo, tag, digest=digest, trunc=not ns.no_trunc)
                              for img in imgs for repo, tag, digest in image_rows(img, need_digest, ns.digests)],
                        ImageContext)
        return 0
    table(["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"],
          [[r["Repository"], r["Tag"], r["ID"], r["CreatedSince"], r["Size"]] for r in rows])
    return 0


def image_rows(img, need_digest: bool, digest_flag: bool) -> list[tuple[str, str, str]]:
    """(repository, tag, digest) rows of one image, as docker/cli's imageFormat: a row per
    tag (per tag and digest of its repository when digests are shown); then a repository
    known only by digest (pulled by digest, no tag) gets "<none>" as its tag, a row per
    digest with --digests; an image with neither is one <none> row."""
    if not img.repo_tags and not img.repo_digests:
        return [("<none>", "<none>", "<none>")]
    digests: dict[str, list[str]] = {}
    for d in img.repo_digests:
        name, _, digest = d.rpartition("@")
        digests.setdefault(name, []).append(digest)
    rows = []
    tagged = set()
    for t in img.repo_tags:
        repo, _, tag = t.rpartition(":")
        tagged.add(repo)
        shown = digests.get(repo, []) if need_digest else []
        rows += [(repo, tag, d) for d in shown] or [(repo, tag, "<none>")]
    for repo, ds in digests.items():
        if repo not in tagged:
            rows += [(repo, "<none>", d) for d in ds] if digest_flag else [(repo, "<none>", "")]
    return rows


def print_removed(report) -> None:
    """Docker's rmi lines: the tags taken off, then the ids deleted."""
    for t in report.untagged:
        print(f"Untagged: {t}")
    for d in report.deleted:
        print(f"Deleted: {d}")


def main(command: str, argv: list[str], g) -> int:
    p = Parser(command)
    if command == "images":
        p.add_argument("-a", "--all", action="store_true", help="Show all images (default hides intermediate images)")
        p.add_argument("-q", "--quiet", action="store_true", help="Only show image IDs")
        p.add_argument("--no-trunc", action="store_true", help="Don't truncate output")
        p.add_argument("-f", "--filter", action="append", default=[],
                       help="Filter output (dangling=true|false, reference=GLOB, label=KEY[=VALUE], "
                            "before=IMAGE, since=IMAGE)")
        p.add_argument("--format", help="Format output using a Go template ('table', 'json', "
                                        "'{{.Repository}}:{{.Tag}}')")
        p.add_argument("--digests", action="store_true", help="Show digests")
        p.add_argument("repository", nargs="?")
        return _images(p.parse_args(argv), g.engine())
    if command == "import":
        p.add_argument("-c", "--change", action="append", default=[], help="Apply a Dockerfile instruction")
        p.add_argument("-m", "--message", help="Commit message for the imported image")
        p.add_argument("file", help="A tar archive (plain or compressed), or - for STDIN")
        p.add_argument("reference", nargs="?")
        ns = p.parse_args(argv)
        engine = g.engine()
        if ns.file == "-":
            info = engine.images.import_rootfs(sys.stdin.buffer, ns.reference, ns.change, ns.message)
        else:
            try:
                f = open(ns.file, "rb")
            except OSError as e:
                raise InvalidArgument(f"cannot open {ns.file}: {e.strerror}") from None
            with f:
                info = engine.images.import_rootfs(f, ns.reference, ns.change, ns.message)
        print(info.id)
        return 0
    if command == "tag":
        p.add_argument("source")
        p.add_argument("target")
        ns = p.parse_args(argv)
        g.engine().images.tag(ns.source, ns.target)
        return 0
    if command == "rmi":
        p.add_argument("-f", "--force", action="store_true", help="Force removal of the image")
        p.add_argument("images", nargs="+")
        ns = p.parse_args(argv)
        from sampan.engine.options import RemoveOptions
        reports = g.engine().images.remove(ns.images, RemoveOptions(force=ns.force))
        return report_items(reports, print_removed, missing_ok=ns.force)
    if command == "history":
        p.add_argument("-q", "--quiet", action="store_true", help="Only show image IDs")
        p.add_argument("--no-trunc", action="store_true", help="Don't truncate output")
        p.add_argument("-H", "--human", default="true", help="Print sizes and dates in human readable format")
        p.add_argument("--format", help="Format output using a Go template ('table', 'json', '{{.CreatedBy}}')")
        p.add_argument("image")
        ns = p.parse_args(argv)
        rows = g.engine().images.history(ns.image)
        if ns.quiet:
            for r in rows:
                print(r.id)
            return 0
        if ns.format:
            from sampan.cli.formatters import HistoryContext
            from sampan.cli.output import write_formatted
            human = ns.human.lower() not in ("false", "0", "f")
            write_formatted(ns.format, [HistoryContext(r, not ns.no_trunc, human) for r in rows], HistoryContext)
            return 0
        out = []
        for r in rows:
            created_by = r.created_by
            if not ns.no_trunc and len(created_by) > 45:
                created_by = created_by[:44] + "…"
            ident = r.id
            if ident.startswith("sha256:") and not ns.no_trunc:
                ident = ident[7:19]
            out.append([ident, ago(r.created), created_by, human_size(r.size), r.comment])
        table(["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"], out)
        return 0
    raise InvalidArgument(f"unknown image command {command}")
