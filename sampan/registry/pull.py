"""`pull`: fetch an image from a registry into the store, all-or-nothing.

Order: manifest (index -> platform manifest), config, then the layers the store lacks,
downloaded in parallel threads into a scratch dir and verified (digest, size, diff_id,
size budget). Only then are blobs moved into the store and the manifest registered.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from sampan.errors import RegistryError, SampanError
from sampan.oci.digest import digest_hex, is_digest
from sampan.oci.image import chain_ids
from sampan.oci.reference import parse_reference
from sampan.registry.client import RegistryClient
from sampan.registry.fetch import download_layer, get_manifest, get_small_blob
from sampan.registry.manifests import (Descriptor, Index, Manifest, Platform, parse_manifest,
                                       parse_platform, select_platform)
from sampan.registry.progress import make_progress, short
from sampan.registry.staging import Staging
from sampan.state.explain import explain, size

PARALLEL_LAYERS = 3


def diff_ids_of(config_raw: bytes, n_layers: int, image: str) -> tuple[list[str], dict]:
    try:
        config = json.loads(config_raw)
        diff_ids = config["rootfs"]["diff_ids"]
    except (ValueError, KeyError, TypeError):
        raise RegistryError(f"{image}: image config has no rootfs.diff_ids; refused") from None
    if not isinstance(diff_ids, list) or not all(isinstance(d, str) and is_digest(d) for d in diff_ids):
        raise RegistryError(f"{image}: image config has malformed diff_ids; refused")
    if len(diff_ids) != n_layers:
        raise RegistryError(f"{image}: manifest has {n_layers} layers but the config lists "
                            f"{len(diff_ids)} diff_ids; refused")
    return diff_ids, config


def _check_platform(config: dict, want: Platform, explicit: bool, image: str) -> None:
    os_, arch = config.get("os"), config.get("architecture")
    if explicit and (os_, arch) != (want.os, want.architecture) and os_ and arch:
        raise RegistryError(f"{image}: image is for {os_}/{arch}, not the requested {want}")


def resolve_manifest(client: RegistryClient, repo: str, ref: str, want: Platform
                     ) -> tuple[bytes, Manifest, str, str]:
    """Follow an index to the platform's manifest (at most two levels). Also returns the
    digest of what `ref` named (the index's, when it is one): the image's repo digest."""
    top = ""
    for _ in range(3):
        raw, _, digest = get_manifest(client, repo, ref)  # the body says what it is, not the header
        top = top or digest
        parsed = parse_manifest(raw, client.image)
        if isinstance(parsed, Manifest):
            return raw, parsed, digest, top
        assert isinstance(parsed, Index)
        ref = select_platform(parsed, want, client.image).digest
    raise RegistryError(f"{client.image}: image indexes nested too deeply; refused")


def pull(store: Any, ref: str, *, platform: str | None = None, tls_verify: bool | None = None,
         progress: object = None, auth: tuple[str, str] | None = None) -> Any:
    """Pull ref (Docker's reference rules) into store; returns the store's ImageInfo."""
    reference = parse_reference(ref)
    image = reference.familiar()
    want = parse_platform(platform)
    sink = make_progress(progress)
    staging = Staging(store)
    try:
        with RegistryClient(reference.domain, image, tls_verify=tls_verify, auth=auth) as client:
            tag_or_digest = reference.digest or reference.tag or "latest"
            sink.message(f"{tag_or_digest if not reference.digest else short(reference.digest)}: "
                         f"Pulling from {reference.familiar_name()}")
            raw, manifest, digest, repo_digest = resolve_manifest(client, reference.path, tag_or_digest, want)
            explain("pull", f"{reference.domain}/{reference.path}:{tag_or_digest} is manifest {digest}: "
                    f"a config and {len(manifest.layers)} layer(s)")
            config_raw = _known_config(store, manifest) or get_small_blob(
                client, reference.path, manifest.config, "image config")
            diff_ids, config = diff_ids_of(config_raw, len(manifest.layers), image)
            _check_platform(config, want, platform is not None, image)
            staging.add_bytes(manifest.config.digest, config_raw)
            # an image the store has already gets no layer lines, as in Docker's output
            have = store.has_blob(digest)
            jobs = _layer_jobs(store, staging, manifest, diff_ids, None if have else sink, image)
            usizes = _download(client, reference.path, jobs, sink)
        known = _recorded(store, reference, digest, repo_digest) if have and not jobs else None
        if known is not None:   # the tag has not moved: nothing to write
            sink.message(f"Digest: {repo_digest}")
            sink.message(f"Status: Image is up to date for {image}")
            return known
        _check_layers(store, image, [j for j in jobs if j.staged is None])
        fresh = bool(jobs) or not have
        staging.add_bytes(digest, raw)
        staging.commit()
        try:
            info = store.register_manifest(raw, _tag_ref(reference, digest), parsed=manifest)
        except BaseException:
            staging.rollback()
            raise
        _adopt_layers(store, jobs, usizes)
        remember = getattr(store, "add_repo_digest", None)
        if remember is not None:
            remember(info.id, f"{reference.domain}/{reference.path}", repo_digest)
            info = store.resolve(info.id)
        sink.message(f"Digest: {repo_digest}")
        sink.message(f"Status: Downloaded newer image for {image}" if fresh
                     else f"Status: Image is up to date for {image}")
        return info
    finally:
        staging.cleanup()
        sink.close()


class _Job:
    """One layer to download; staged: the dir its LayerFeed unpacks it into, or None when
    the store cannot unpack while downloading (it is then checked after, unpacked at run)."""

    def __init__(self, store: Any, desc: Descriptor, diff_id: str, dest: Path, chain_id: str,
                 staged: Path | None):
        self.desc, self.diff_id, self.dest = desc, diff_id, dest
        self.chain_id, self.staged = chain_id, staged
        self.feed = (lambda: store.layer_feed(staged)) if staged is not None else None


def _layer_jobs(store: Any, staging: Staging, manifest: Manifest, diff_ids: list[str],
                sink: Any, image: str) -> list[_Job]:
    """The layers the store lacks, each once; those the store has are not touched (and
    said to exist already on sink, unless it is None)."""
    streaming = callable(getattr(store, "layer_feed", None))
    jobs: list[_Job] = []
    seen: set[str] = set()
    for desc, diff_id, chain_id in zip(manifest.layers, diff_ids, chain_ids(diff_ids)):
        if desc.digest in seen:
            continue
        seen.add(desc.digest)
        if store.has_blob(desc.digest):
            if sink is not None:
                sink.end(short(desc.digest), "Already exists")
            explain("layer", f"{desc.digest} ({size(desc.size)} compressed): already in the store, "
                    f"shared with the images that have it: not downloaded")
            continue
        explain("layer", f"{desc.digest} ({size(desc.size)} compressed): not in the store: downloaded, "
                f"checked against its digest and its diff_id {diff_id}"
                + (", unpacked as it comes" if streaming else ""))
        if desc.urls and desc.media_type.endswith("foreign.diff.tar.gzip"):
            raise RegistryError(f"{image}: layer {short(desc.digest)} is a foreign "
                                f"(non-distributable) layer; not supported")
        dest = staging.file_for(desc.digest)
        staged = staging.dir / f"layer-{digest_hex(chain_id)}" if streaming else None
        jobs.append(_Job(store, desc, diff_id, dest, chain_id, staged))
        staging.add_file(desc.digest, dest, desc.size)
    return jobs


def _download(client: RegistryClient, repo: str, jobs: list[_Job], sink: Any) -> dict[str, int]:
    """Download (and unpack) the layers in parallel; the uncompressed size of each."""
    stop = threading.Event()
    usizes: dict[str, int] = {}
    with ThreadPoolExecutor(max_workers=PARALLEL_LAYERS) as pool:
        futures = {pool.submit(download_layer, client, repo, j.desc, j.diff_id, j.dest, sink,
                               stop, j.feed): j for j in jobs}
        try:
            for f in as_completed(futures):
                usizes[futures[f].desc.digest] = f.result()  # the first failure wins
        except BaseException:
            stop.set()
            for f in futures:
                f.cancel()
            raise
    return usizes


def _adopt_layers(store: Any, jobs: list[_Job], usizes: dict[str, int]) -> None:
    """Unpacked layers join the store once the image is recorded. They are a cache of the
    blobs: should this fail, the first `run` unpacks from the blob as it always could."""
    staged = [(j.staged, j.chain_id, j.diff_id, j.desc.digest, usizes[j.desc.digest])
              for j in jobs if j.staged is not None and j.desc.digest in usizes]
    if staged:
        try:
            store.adopt_layers(staged)
        except OSError:
            pass


def _check_layers(store: Any, image: str, jobs: list) -> None:
    """Every downloaded layer must unpack: refused at pull, not at the first `run`."""
    check = getattr(store, "check_layer", None)
    if check is None:
        return
    for job in jobs:
        try:
            with open(job.dest, "rb") as f:
                check(f)
        except SampanError as e:
            raise RegistryError(f"{image}: layer {short(job.desc.digest)}: {e.message}; "
                                "refused") from None


def _known_config(store: Any, manifest: Manifest) -> bytes | None:
    """The config from the store when it has it (a re-pull): blobs there were verified
    on the way in, so the registry is not asked again."""
    desc = manifest.config
    if not store.has_blob(desc.digest):
        return None
    try:
        with store.open_blob(desc.digest) as f:
            data = f.read(desc.size + 1)
    except (OSError, SampanError):
        return None
    return data if len(data) == desc.size else None


def _recorded(store: Any, reference: Any, digest: str, repo_digest: str) -> Any:
    """The store's image when recording this pull would change nothing (a re-pull of a tag
    that has not moved, its manifest in the store): the tag names this very manifest and the
    repo digest is known."""
    tag = _tag_ref(reference, digest)
    if tag is None:
        return None
    try:
        info = store.resolve(tag)
    except SampanError:
        return None
    if getattr(info, "manifest_digest", None) != digest or \
            f"{reference.familiar_name()}@{repo_digest}" not in (getattr(info, "repo_digests", None) or ()):
        return None
    return info


def _tag_ref(reference: Any, digest: str) -> str | None:
    """The name to tag locally: name:tag for tag pulls; none for digest-only pulls (as Docker)."""
    if reference.tag:
        return f"{reference.name}:{reference.tag}"
    return None
