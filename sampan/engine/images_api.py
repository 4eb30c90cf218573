"""`engine.images`: list, inspect, history, tag, rmi, prune, import, pull, push, search, save, load.

Each verb takes plain arguments or typed options (engine/options.py) and returns a
report (engine/reports.py); nothing here formats text for a person.
"""

from __future__ import annotations

import builtins

from typing import BinaryIO, Callable, TextIO

from sampan.engine import filters as flt
from sampan.engine.context import Context
from sampan.engine.options import ListOptions, PruneOptions, RemoveOptions
from sampan.engine.reports import (ImageHistoryItem, ImagePruneReport, ImageRemoveReport, ImageSummary,
                                   ImageTreeReport, ManifestReport, ProgressEvent, RemoveReport, SearchResult)
from sampan.errors import Conflict, SampanError
from sampan.oci.times import parse_time

IMAGE_FILTERS = ("dangling", "reference", "label", "before", "since")


class ImagesAPI:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def _usage(self) -> dict[str, list]:
        """image id -> the containers that use it."""
        users: dict[str, list] = {}
        for rec in self.ctx.containers.all():
            users.setdefault(rec.image_id, []).append(rec)
        return users

    def _summary(self, img, users: dict[str, list]) -> ImageSummary:
        cfg = (img.config or {}).get("config") or {}
        return ImageSummary(id=img.id, repo_tags=list(img.repo_tags), repo_digests=list(img.repo_digests),
                            created=img.created, size=img.size, labels=dict(cfg.get("Labels") or {}),
                            containers=len(users.get(img.id, ())))

    def list(self, opts: ListOptions | None = None) -> list[ImageSummary]:
        """Newest first; intermediate build images only with ``all``.
        Filters: dangling=true|false, reference=GLOB (REPO or REPO:TAG), label=KEY[=VALUE],
        before=IMAGE, since=IMAGE (created before or after that one)."""
        opts = opts or ListOptions()
        want = flt.parse(opts.filters, IMAGE_FILTERS, "images")
        dangling = flt.boolean(want, "dangling")
        def created(ref: str) -> float:
            return parse_time(self.ctx.images.resolve(ref).created)
        before = min(map(created, want["before"])) if "before" in want else None
        since = max(map(created, want["since"])) if "since" in want else None
        users = self._usage()
        out = []
        images = self.ctx.images.list_images(all=opts.all)
        shared = _shared_sizes(self.ctx.images.list_images(all=True)) if opts.size else {}
        for img in images:
            if dangling is not None and (not img.repo_tags) != dangling:
                continue
            if "reference" in want and not flt.reference_match(img.repo_tags, want["reference"]):
                continue
            if before is not None or since is not None:
                t = parse_time(img.created)
                if (before is not None and t >= before) or (since is not None and t <= since):
                    continue
            summary = self._summary(img, users)
            if "reference" in want:  # Docker shows only the tags that matched
                summary.repo_tags = [t for t in summary.repo_tags
                                     if flt.reference_match([t], want["reference"])]
            if "label" in want and not flt.labels_match(summary.labels, want["label"]):
                continue
            if opts.size:
                summary.shared_size = shared.get(img.id, 0)
            out.append(summary)
        return out

    def get(self, ref: str) -> ImageSummary:
        return self._summary(self.ctx.images.resolve(ref), self._usage())

    def inspect(self, ref: str) -> dict:
        """Docker's ImageInspect."""
        img = self.ctx.images.resolve(ref)
        cfg = img.config or {}
        return {
            "Id": img.id, "RepoTags": list(img.repo_tags),
            "RepoDigests": list(img.repo_digests), "Parent": "", "Comment": "", "Created": img.created,
            "Config": cfg.get("config") or {}, "Architecture": cfg.get("architecture", ""),
            "Os": cfg.get("os", ""), "Author": cfg.get("author", ""), "Size": img.size,
            "GraphDriver": {"Name": "overlay", "Data": {}},
            "RootFS": {"Type": "layers", "Layers": [l.diff_id for l in img.layers]},
            "Metadata": {}, "ManifestDigest": img.manifest_digest,  # no LastTagTime: "" is not a time to Go
        }

    def history(self, ref: str) -> builtins.list[ImageHistoryItem]:
        return [ImageHistoryItem(id=r.get("id") or "<missing>", created=r.get("created") or "",
                                 created_by=r.get("created_by") or "", size=r.get("size") or 0,
                                 comment=r.get("comment") or "", tags=list(r.get("tags") or []))
                for r in self.ctx.images.history(ref)]

    def tree(self, refs: builtins.list[str] | None = None) -> ImageTreeReport:
        """`image tree`: the given images (every tagged one by default) as a tree of shared layers."""
        from sampan.engine.image_tree import image_tree
        store = self.ctx.images
        if refs:
            infos = [store.resolve(r) for r in refs]
        else:
            infos = [i for i in store.list_images(all=True) if i.repo_tags] or store.list_images(all=True)
        return image_tree(infos)

    def tag(self, source: str, target: str) -> None:
        self.ctx.images.tag(source, target)
        from sampan.engine.events import image_event
        image_event(self.ctx, "tag", self.ctx.images.resolve(target).id, target)

    # ---- removal ----
    def remove(self, refs: builtins.list[str], opts: RemoveOptions | None = None) -> builtins.list[ImageRemoveReport]:
        """`rmi A B C`: one report per reference, in order; a failure does not stop the rest."""
        opts = opts or RemoveOptions()
        out = []
        for ref in refs:
            try:
                out.append(self.remove_one(ref, force=opts.force))
            except SampanError as e:
                out.append(ImageRemoveReport(ref=ref, error=e))
        return out

    def remove_one(self, ref: str, force: bool = False) -> ImageRemoveReport:
        """Docker's rmi, except that -f never pulls an image from under a container: it untags.
        Raises the typed error (ImageNotFound, Conflict) when it cannot."""
        image_id = self.ctx.images.resolve(ref).id
        report = self._remove_one(ref, force)
        from sampan.engine.events import image_removal_events
        image_removal_events(self.ctx, image_id, report.untagged, report.deleted)
        return report

    def _remove_one(self, ref: str, force: bool) -> ImageRemoveReport:
        images = self.ctx.images
        image = images.resolve(ref)
        users = self._usage().get(image.id, [])
        if users:
            tags = list(image.repo_tags or [])
            by_tag = [t for t in tags if _same_ref(ref, t)]
            if by_tag and len(tags) > 1:
                done = images.remove(ref)  # only untags: other tags remain
                return ImageRemoveReport(ref=ref, untagged=done.untagged, deleted=done.deleted)
            if not force:
                names = ", ".join(u.name for u in users[:3])
                raise Conflict(f"image {ref} is used by container {names}: remove the container first, "
                               f"or `rmi -f` to untag it (the image stays while a container uses it)")
            untagged = []
            for t in by_tag or tags:
                images.untag(t)
                untagged.append(t)
            return ImageRemoveReport(ref=ref, untagged=untagged)
        done = images.remove(ref, force=force)
        return ImageRemoveReport(ref=ref, untagged=done.untagged, deleted=done.deleted)

    def prune(self, opts: PruneOptions | None = None) -> ImagePruneReport:
        """Images no container uses: untagged ones, or every one with ``all`` (or the
        API's dangling=false), that the filters (until=, label=, label!=) select."""
        from sampan.engine.prune_filters import IMAGE, PruneFilter
        opts = opts or PruneOptions()
        want = PruneFilter(opts.filters, IMAGE, "image prune")
        dangling_only = want.boolean("dangling")
        every = opts.all if dangling_only is None else not dangling_only
        used = set(self._usage())
        report = ImagePruneReport()
        for img in self.ctx.images.list_images(all=True):
            if img.id in used or (img.repo_tags and not every):
                continue
            if want and not want.match(((img.config or {}).get("config") or {}).get("Labels"),
                                       parse_time(img.created)):
                continue
            done = self.ctx.images.remove(img.id, force=True)
            report.images.append(ImageRemoveReport(ref=img.id, untagged=done.untagged, deleted=done.deleted))
            from sampan.engine.events import image_removal_events
            image_removal_events(self.ctx, img.id, done.untagged, done.deleted)
            report.space_reclaimed += img.size or 0
        return report

    # ---- in and out ----
    def import_rootfs(self, fileobj: BinaryIO, ref: str | None, changes: builtins.list[str],
                      message: str | None) -> ImageSummary:
        img = self.ctx.images.import_rootfs(fileobj, ref, changes, message)
        from sampan.engine.events import image_event
        image_event(self.ctx, "import", img.id, ref or img.id)
        return self._summary(img, {})

    def pull(self, ref: str, platform: str | None = None, tls_verify: bool | None = None,
             quiet: bool = False, auth: tuple[str, str] | None = None,
             on_progress: Callable[[ProgressEvent], None] | None = None,
             display: TextIO | None = None) -> ImageSummary:
        """``auth``: (user, password) for this pull only (else the stored login);
        ``on_progress``: typed events instead of the CLI's own display; ``display``: where
        that display goes (stderr by default: `run`'s implicit pull; `pull` itself: stdout)."""
        from sampan.registry.pull import pull
        img = pull(self.ctx.images, ref, platform=platform, tls_verify=tls_verify,
                   progress=_sink(on_progress, "Downloading", quiet, display), auth=auth)
        from sampan.engine.events import image_event
        image_event(self.ctx, "pull", ref, ref)
        return self._summary(img, self._usage())

    def search(self, term: str, limit: int = 0, filters=None, tls_verify: bool | None = None,
               auth: tuple[str, str] | None = None) -> builtins.list[SearchResult]:
        """A registry's repositories matching term (HOST[:PORT]/WORDS, or WORDS on Docker Hub);
        ``filters``: as `search -f` (stars=, is-official=, is-automated=)."""
        from sampan.engine.image_search import search
        return search(term, limit, filters, tls_verify, auth)

    def push(self, local: str, dest: str | None = None, tls_verify: bool | None = None,
             quiet: bool = False, auth: tuple[str, str] | None = None,
             on_progress: Callable[[ProgressEvent], None] | None = None,
             display: TextIO | None = None) -> str:
        """Returns the manifest digest pushed. ``auth``, ``on_progress``, ``display``: as for pull."""
        from sampan.registry.push import push
        digest = push(self.ctx.images, local, dest, tls_verify=tls_verify,
                      progress=_sink(on_progress, "Pushing", quiet, display), auth=auth)
        from sampan.engine.events import image_event
        image_event(self.ctx, "push", dest or local, dest or local)
        return digest

    def manifest_size(self, digest: str) -> int:
        """Bytes of a manifest in the store (what Docker's push reports as `size:`)."""
        return self.ctx.images.blob_size(digest)
    def manifest_inspect(self, ref: str, tls_verify: bool | None = None,
                         auth: tuple[str, str] | None = None) -> ManifestReport:
        """What a registry holds under ref (registry/manifest_inspect.py); nothing is stored."""
        from sampan.registry import inspect_manifest
        return _manifest_report(inspect_manifest(ref, tls_verify=tls_verify, auth=auth))

    # ---- manifest lists (engine/manifest_lists.py; the registry's side in registry/) ----
    def manifest_create(self, list_ref: str, refs: builtins.list[str], amend: bool = False,
                        tls_verify: bool | None = None) -> str:
        """Keep a manifest list of images already in a registry; its full name."""
        from sampan.engine.manifest_lists import ManifestLists
        from sampan.registry import inspect_manifest
        return ManifestLists(self.ctx).create(list_ref, refs, amend,
                                              lambda ref: inspect_manifest(ref, tls_verify=tls_verify))

    def manifest_annotate(self, list_ref: str, ref: str, platform: dict) -> None:
        from sampan.engine.manifest_lists import ManifestLists
        ManifestLists(self.ctx).annotate(list_ref, ref, platform)

    def manifest_push(self, list_ref: str, purge: bool = False, tls_verify: bool | None = None) -> str:
        """Push the list to its registry (its images must be on that registry); its digest."""
        from sampan.engine.manifest_lists import ManifestLists
        from sampan.registry import push_index
        lists = ManifestLists(self.ctx)
        body, kind, entries = lists.index(list_ref)
        digest = push_index(list_ref, body, kind, [(e["ref"], e["raw"], e["media_type"]) for e in entries],
                            tls_verify=tls_verify)
        if purge:
            lists.remove(list_ref)
        return digest

    def manifest_remove(self, list_refs: builtins.list[str]) -> builtins.list[RemoveReport]:
        from sampan.engine.manifest_lists import ManifestLists
        lists = ManifestLists(self.ctx)
        out = []
        for ref in list_refs:
            try:
                lists.remove(ref)
                out.append(RemoveReport(ref=ref))
            except SampanError as e:
                out.append(RemoveReport(ref=ref, error=e))
        return out

    def save(self, refs: builtins.list[str], out: BinaryIO, format: str = "docker") -> None:
        from sampan.archive import save
        save(self.ctx.images, refs, out, format)
        from sampan.engine.events import image_event
        for ref in refs:
            image_event(self.ctx, "save", ref, ref)

    def load(self, fileobj: BinaryIO) -> builtins.list[str]:
        """The references (or ids, for untagged images) loaded."""
        from sampan.archive import load
        loaded = load(self.ctx.images, fileobj)
        from sampan.engine.events import image_event
        for ref in loaded:
            image_event(self.ctx, "load", ref, ref)
        return loaded


def _same_ref(a: str, b: str) -> bool:
    from sampan.oci.reference import parse_reference
    try:
        return str(parse_reference(a)) == str(parse_reference(b))
    except SampanError:
        return False


def _sink(on_progress, moving: str, quiet: bool, display: TextIO | None = None):
    """The registry's progress argument: events to a callback, silence, or the CLI's display."""
    if on_progress is not None:
        from sampan.engine.progress_events import EventSink
        return EventSink(on_progress, moving)
    if quiet:
        return False
    if display is None:
        return None
    from sampan.registry.progress import make_progress
    return make_progress(None, display)


def _shared_sizes(images) -> dict[str, int]:
    """image id -> bytes of its layers that another image uses too (`system df -v`'s SHARED
    SIZE; UNIQUE SIZE is the rest)."""
    users: dict[str, set[str]] = {}
    for img in images:
        for layer in img.layers:
            users.setdefault(layer.diff_id, set()).add(img.id)
    return {img.id: sum((layer.uncompressed_size or layer.size) for layer in
                        {l.diff_id: l for l in img.layers}.values() if len(users[layer.diff_id]) > 1)
            for img in images}


def _manifest_report(d: dict) -> ManifestReport:
    children = d["children"]
    return ManifestReport(ref=d["ref"], media_type=d["media_type"], digest=d["digest"], size=d["size"],
                          raw=d["raw"], platform=d["platform"],
                          children=None if children is None else [_manifest_report(c) for c in children])
