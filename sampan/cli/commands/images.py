"""`images`, `import`, `tag`, `rmi`, `history`, and image inspect."""

from __future__ import annotations

import sys
import time

from sampan.cli.args import Parser
from sampan.cli.output import format_template, human_size, table
from sampan.errors import InvalidArgument, SampanError


def _ago(created: str) -> str:
    from sampan.engine.views import human_duration, parse_time
    t = parse_time(created)
    return human_duration(time.time() - t) + " ago" if t else "N/A"


def image_inspect(engine, name: str) -> dict:
    img = engine.images.resolve(name)
    cfg = img.config or {}
    return {
        "Id": img.id, "RepoTags": list(img.repo_tags),
        "RepoDigests": [], "Parent": "", "Comment": "", "Created": img.created,
        "Config": cfg.get("config") or {}, "Architecture": cfg.get("architecture", ""),
        "Os": cfg.get("os", ""), "Author": cfg.get("author", ""), "Size": img.size,
        "GraphDriver": {"Name": "overlay", "Data": {}},
        "RootFS": {"Type": "layers", "Layers": [l.diff_id for l in img.layers]},
        "Metadata": {"LastTagTime": ""}, "ManifestDigest": img.manifest_digest,
    }


def _images(ns, engine) -> int:
    imgs = engine.images.list_images(all=ns.all)
    if ns.filter:
        for f in ns.filter:
            if f not in ("dangling=true", "dangling=false"):
                raise InvalidArgument(f"invalid filter {f!r}: images supports dangling=true|false")
            want = f.endswith("true")
            imgs = [i for i in imgs if (not i.repo_tags) == want]
    if ns.repository:
        imgs = [i for i in imgs if any(t.rsplit(":", 1)[0] == ns.repository or t == ns.repository
                                       for t in i.repo_tags)]
    rows = []
    for img in imgs:
        tags = img.repo_tags or ["<none>:<none>"]
        for t in tags:
            repo, _, tag = t.rpartition(":")
            rows.append({"Repository": repo, "Tag": tag, "ID": img.id if ns.no_trunc else img.short_id,
                         "CreatedSince": _ago(img.created), "Size": human_size(img.size)})
    if ns.quiet:
        seen = []
        for r in rows:
            if r["ID"] not in seen:
                seen.append(r["ID"])
        print("\n".join(seen) if seen else "", end="\n" if seen else "")
        return 0
    if ns.format:
        for r in rows:
            print(format_template(ns.format, r))
        return 0
    table(["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"],
          [[r["Repository"], r["Tag"], r["ID"], r["CreatedSince"], r["Size"]] for r in rows])
    return 0


def main(command: str, argv: list[str], g) -> int:
    p = Parser(command)
    if command == "images":
        p.add_argument("-a", "--all", action="store_true", help="Show all images (default hides intermediate images)")
        p.add_argument("-q", "--quiet", action="store_true", help="Only show image IDs")
        p.add_argument("--no-trunc", action="store_true", help="Don't truncate output")
        p.add_argument("-f", "--filter", action="append", default=[], help="Filter output (dangling=true)")
        p.add_argument("--format", help="Format output using a Go-like template")
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
            info = engine.import_image(sys.stdin.buffer, ns.reference, ns.change, ns.message)
        else:
            try:
                f = open(ns.file, "rb")
            except OSError as e:
                raise InvalidArgument(f"cannot open {ns.file}: {e.strerror}") from None
            with f:
                info = engine.import_image(f, ns.reference, ns.change, ns.message)
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
        engine = g.engine()
        code = 0
        for ref in ns.images:
            try:
                for line in engine.remove_image(ref, force=ns.force):
                    print(line)
            except SampanError as e:
                sys.stderr.write(f"sampan: {e.message}\n")
                code = 1
        return code
    if command == "history":
        p.add_argument("-q", "--quiet", action="store_true", help="Only show image IDs")
        p.add_argument("--no-trunc", action="store_true", help="Don't truncate output")
        p.add_argument("-H", "--human", default="true", help="Print sizes and dates in human readable format")
        p.add_argument("image")
        ns = p.parse_args(argv)
        rows = g.engine().images.history(ns.image)
        if ns.quiet:
            for r in rows:
                print(r.get("id") or "<missing>")
            return 0
        out = []
        for r in rows:
            created_by = r.get("created_by") or ""
            if not ns.no_trunc and len(created_by) > 45:
                created_by = created_by[:44] + "…"
            ident = r.get("id") or "<missing>"
            if ident.startswith("sha256:") and not ns.no_trunc:
                ident = ident[7:19]
            out.append([ident, _ago(r.get("created") or ""), created_by, human_size(r.get("size") or 0),
                        r.get("comment") or ""])
        table(["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"], out)
        return 0
    raise InvalidArgument(f"unknown image command {command}")
