"""One Dockerfile step at a time: cache lookup, execution, cache record.

Every step except ARG produces a new state (config, layers, history) keyed by
a chain key; a cache hit gives back what the step added (its history entry with
its time, its layer), so a rebuild with no change gives the same image id.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from sampan.build.backend import BuildBackend
from sampan.build import cache_reasons
from sampan.build.cache import BuildCache, step_key
from sampan.build.context import ContextFS, DigestMemo, SourceError, StageFS, hash_sources
from sampan.build.expand import ExpandError
from sampan.build.instructions import copy as copyinstr
from sampan.build import run_mounts
from sampan.build.instructions.metadata import HANDLERS, MetadataError
from sampan.build.instructions.mounts import MountError
from sampan.build.instructions.run import created_by as run_created_by
from sampan.build.instructions.run import run_argv, run_env
from sampan.build.instructions.users import UserError, parse_chmod, resolve_chown
from sampan.build.parse import Instruction, fail
from sampan.build.plan import PROXY_ARGS
from sampan.build.progress import Progress
from sampan.store.merged_view import MergedView
from sampan.build.stage_state import StageState
from sampan.errors import ImageNotFound, SampanError
from sampan.oci.times import now_rfc3339
from sampan.state import explain
from sampan.state.nospace import no_space

_TAIL_LINES = 10
_USER_ERRORS = (ExpandError, MetadataError, copyinstr.CopyError, SourceError, UserError)
# Reading the context can fail on the user's files (unreadable file, symlink loop).
_FILE_ERRORS = _USER_ERRORS + (OSError,)


@dataclass
class StepContext:
    """What every step may need besides the stage's own state."""
    backend: BuildBackend
    cache: BuildCache
    progress: Progress
    filename: str
    build_args: dict[str, str]
    network: str
    no_cache: bool
    context: ContextFS | None
    stage_layers: Callable[[str], list | None]  # COPY --from=<stage> -> its layers, else None
    digests: DigestMemo | None = None  # content digests of context files, by stat identity
    secrets: dict[str, bytes] = field(default_factory=dict)  # build --secret: id -> content
    cache_from: list["Candidate"] = field(default_factory=list)  # --cache-from images
    cached_steps: int = 0
    total_steps: int = 0
    temp_dirs: list[Path] = field(default_factory=list)
    note: tuple | None = None  # (parent key, title, files) of the step running: cache_reasons.remember


# A cache entry holds what its step added (a history entry, maybe a layer), not the whole
# state: the key names the parent state, so a hit is always applied to that very state,
# and the config a step leaves is computed again (metadata, WORKDIR) or unchanged (RUN,
# COPY). Whole-state entries made every step O(steps so far): a Dockerfile of n lines
# wrote O(n^2) bytes to the database (840 MB for 4000 ENV lines). Older whole-state
# entries are still read.
CACHE_FORMAT = 2


def _restore(st: StageState, value: dict, backend: BuildBackend) -> bool:
    if value.get("v") == CACHE_FORMAT:
        layer = None
        if value.get("layer") is not None:
            layer = backend.layer_from_json(value["layer"])
            if layer is None:
                return False  # the store has since dropped the layer: rebuild the step
            st.layers.append(layer)
        st.history.append(value["history"])
        return True
    layers = []
    for item in value["layers"]:
        layer = backend.layer_from_json(item)
        if layer is None:
            return False
        layers.append(layer)
    st.image_config = value["config"]
    st.layers = layers
    st.history = value["history"]
    st.cmd_set = value["cmd_set"]
    return True


@dataclass
class Candidate:
    """A --cache-from image: its history and layers, one step after another."""
    history: list[dict]
    layers: list
    ids: list  # each layer's identity (its diff id), to compare with a stage's


def layer_id(backend: BuildBackend, layer) -> str:
    data = backend.layer_to_json(layer)
    return data.get("diff_id") or data.get("digest") or repr(data)


def _from_candidates(ctx: StepContext, st: StageState, created_by: str) -> bool:
    """Docker's --cache-from: an image whose history and layers begin as this stage's do,
    and whose next history entry is this very step, gives that entry and its layer.
    Only for steps whose history text says all they depend on (not COPY/ADD, whose
    sources' content it does not hold)."""
    n_hist, n_layers = len(st.history), len(st.layers)
    mine = None
    for c in ctx.cache_from:
        if len(c.history) <= n_hist or c.history[n_hist].get("created_by") != created_by:
            continue
        if mine is None:
            mine = [layer_id(ctx.backend, layer) for layer in st.layers]
        if c.ids[:n_layers] != mine or len(c.ids) < n_layers:
            continue
        if [h.get("created_by") for h in c.history[:n_hist]] != [h.get("created_by") for h in st.history]:
            continue
        entry = dict(c.history[n_hist])
        if not entry.get("empty_layer"):
            if len(c.layers) <= n_layers:
                continue
            st.layers.append(c.layers[n_layers])
        st.history.append(entry)
        return True
    return False


def _lookup(ctx: StepContext, st: StageState, key: str) -> bool:
    if ctx.no_cache:
        return False
    value = ctx.cache.get(key)
    if value is None:
        return False
    if not _restore(st, value, ctx.backend):
        ctx.cache.forget(key)
        return False
    st.cache_key = key
    return True


def _record(ctx: StepContext, st: StageState, key: str, layer=None) -> None:
    """After a step ran: its history entry (the last) and the layer it added, if any."""
    st.cache_key = key
    ctx.cache.put(key, {"v": CACHE_FORMAT, "history": st.history[-1],
                        "layer": ctx.backend.layer_to_json(layer) if layer is not None else None})
    if ctx.note is not None:  # so a later build can say which input changed (--explain)
        cache_reasons.remember(ctx.cache, *ctx.note)
        ctx.note = None


def _user_error(ctx: StepContext, instr: Instruction, err: Exception,
                writing: Path | None = None) -> SampanError:
    """The error to show for a step that failed on the user's input; a full disk is not the
    user's input (writing: the dir the step was writing into, to name when err names none)."""
    full = no_space(err, (writing,) if writing is not None else ())
    if full is not None:
        return full
    if isinstance(err, OSError) and not isinstance(err, _USER_ERRORS):
        where = f" {err.filename}" if err.filename else ""
        return fail(ctx.filename, instr.line, f"{instr.cmd}: cannot read{where}: {err.strerror or err}")
    return fail(ctx.filename, instr.line, f"{instr.cmd}: {err}")


def do_arg(ctx: StepContext, st: StageState, instr: Instruction, meta: dict[str, str],
           consumed: set[str]) -> None:
    for item in instr.args:
        name, eq, default = item.partition("=")
        consumed.add(name)
        if name in ctx.build_args:
            st.args[name] = ctx.build_args[name]
        elif eq:
            try:
                st.args[name] = st.word(default, st.expand_env())
            except ExpandError as err:
                raise _user_error(ctx, instr, err) from None
        elif name in meta:
            st.args[name] = meta[name]  # a global ARG re-declared in the stage keeps its value


def do_metadata(ctx: StepContext, st: StageState, instr: Instruction) -> None:
    """The handler changes the config in place (a failure fails the build, so there is
    nothing to roll back); the cache gives back only the history entry, with its time."""
    st.used = set()
    try:
        text = HANDLERS[instr.cmd](instr, st)
    except _USER_ERRORS as err:
        raise _user_error(ctx, instr, err) from None
    key = step_key(st.cache_key, "meta", text, st.cmd_set)
    if _lookup(ctx, st, key):
        return
    if ctx.cache_from and not ctx.no_cache and _from_candidates(ctx, st, text):
        _record(ctx, st, key)
        return
    st.history.append({"created": now_rfc3339(), "created_by": text, "empty_layer": True})
    _record(ctx, st, key)


def _new_upper(ctx: StepContext) -> Path:
    upper = ctx.backend.temp_dir()
    ctx.temp_dirs.append(upper)
    os.chmod(upper, 0o755)
    return upper


def _drop_upper(ctx: StepContext, upper: Path) -> None:
    shutil.rmtree(upper, ignore_errors=True)
    if upper in ctx.temp_dirs:
        ctx.temp_dirs.remove(upper)


def _commit_layer(ctx: StepContext, st: StageState, upper: Path, text: str):
    """Add the upper dir as a layer (None when it holds no change) and its history entry."""
    layer = ctx.backend.add_layer_from_dir(upper)
    entry: dict[str, object] = {"created": now_rfc3339(), "created_by": text}
    if layer is None:
        entry["empty_layer"] = True
    else:
        st.layers.append(layer)
    st.history.append(entry)
    # The upper dir already IS the layer unpacked: a backend that can adopt it as
    # such saves unpacking the tar it was just made into (optional method).
    adopt = getattr(ctx.backend, "adopt_layer_dir", None)
    if layer is not None and adopt is not None and adopt(st.layers, upper):
        ctx.temp_dirs.remove(upper)
        return layer
    _drop_upper(ctx, upper)
    return layer


def _start_step(ctx: StepContext, st: StageState, key: str, title: str,
                created_by: str | None = None, files: dict[str, str] | None = None) -> int | None:
    """Announce a step; None when its result came from the cache (and was applied), or
    from a --cache-from image (when `created_by` says all the step depends on).
    files: a short digest per source file (COPY/ADD), to tell later which one changed."""
    n = ctx.progress.start(title)
    ctx.total_steps += 1
    parent = st.cache_key
    hit = _lookup(ctx, st, key)
    if not hit and created_by is not None and ctx.cache_from and not ctx.no_cache:
        hit = _from_candidates(ctx, st, created_by)
        if hit:
            _record(ctx, st, key, st.layers[-1] if not st.history[-1].get("empty_layer") else None)
    if hit:
        ctx.cached_steps += 1
        ctx.progress.cached(n)
        if explain.on():
            explain.explain("build cache", cache_reasons.hit(title, files))
        return None
    if explain.on():
        explain.explain("build cache", cache_reasons.miss(ctx.cache, parent, title, files, ctx.no_cache,
                                                          ctx.total_steps > ctx.cached_steps + 1))
    ctx.note = (parent, title, files)
    return n


def do_run(ctx: StepContext, st: StageState, instr: Instruction, title: str) -> None:
    argv = run_argv(instr, st.cfg.get("Shell"))
    args = {k: v for k, v in st.args.items() if k not in PROXY_ARGS}
    network = instr.flags.get("network") or ctx.network
    if network not in ("default", "bridge", "none", "host"):
        raise fail(ctx.filename, instr.line, f"RUN --network={network}: use default (bridge), none or host")
    resolved, mount_key = _run_mounts(ctx, st, instr) if instr.mounts else ([], None)
    key = step_key(st.cache_key, "RUN", argv, args, network, *([mount_key] if instr.mounts else []))
    # a bind mount's content is not in the history text: no --cache-from match then
    binds = any(m.kind == "bind" for m in instr.mounts)
    n = _start_step(ctx, st, key, title, None if binds else run_created_by(argv, args))
    if n is None:
        return
    lowers = ctx.backend.layer_dirs(st.layers)
    extra = {}
    if resolved:
        try:
            extra["mounts"] = run_mounts.plans_for(resolved, lowers)
        except _FILE_ERRORS + (MountError,) as err:
            raise _user_error(ctx, instr, err) from None
    upper = _new_upper(ctx)
    tail: deque[bytes] = deque(maxlen=_TAIL_LINES + 1)

    def output(data: bytes) -> None:
        ctx.progress.log(n, data)
        tail.extend(data.splitlines(keepends=True))

    env = run_env(list(st.cfg.get("Env") or []), st.args, ctx.build_args)
    try:
        code = ctx.backend.run(lowers, upper, argv, env, st.cfg.get("WorkingDir") or "/",
                               st.cfg.get("User") or "", network, output, **extra)
    except MountError as err:
        _drop_upper(ctx, upper)
        raise _user_error(ctx, instr, err) from None
    if code != 0:
        _drop_upper(ctx, upper)
        shown = json.dumps(argv) if instr.json else " ".join(argv)
        message = f'process "{shown}" did not complete successfully: exit code: {code}'
        ctx.progress.error(n, message)
        lines = b"".join(tail).decode(errors="replace").splitlines()[-_TAIL_LINES:]
        if lines:
            ctx.progress.block("------\n > " + title + ":\n" + "\n".join(lines) + "\n------")
        failure = fail(ctx.filename, instr.line, f"RUN failed: {message}")
        failure.output_tail = lines  # type: ignore[attr-defined]  # read by the build API
        raise failure
    layer = _commit_layer(ctx, st, upper, run_created_by(argv, args))
    _record(ctx, st, key, layer)
    ctx.progress.done(n)


def _run_mounts(ctx: StepContext, st: StageState, instr: Instruction) -> tuple[list, list]:
    """The step's mounts expanded and their sources found; what the cache key holds of them:
    their options, a bind source's content (never a secret's, nor a cache's)."""
    def stage_fs(name: str):
        layers = ctx.stage_layers(name)
        if layers is None:
            try:
                _, _, layers = ctx.backend.base_image(name)
            except ImageNotFound as err:
                raise MountError(f"from={name}: no stage or local image with that name ({err})") from None
        dirs = ctx.backend.layer_dirs(layers)
        return StageFS(dirs), dirs, [ctx.backend.layer_to_json(layer) for layer in layers]

    try:
        env = st.expand_env()
        mounts = [m.expanded(lambda text: st.word(text, env)) for m in instr.mounts]
        resolved = run_mounts.resolve_sources(mounts, ctx.context, stage_fs, ctx.secrets)
        key = []
        for r in resolved:
            part = r.mount.key()
            if r.mount.kind == "bind":
                assert r.fs is not None  # a bind mount's source is resolved
                memo = ctx.digests if r.fs is ctx.context else None
                part.append(r.ident if r.ident is not None else hash_sources(r.fs, [r.source], memo))
                if memo is not None:
                    memo.flush()
            key.append(part)
    except _FILE_ERRORS + (MountError,) as err:
        raise _user_error(ctx, instr, err) from None
    return resolved, key


def do_workdir(ctx: StepContext, st: StageState, instr: Instruction, title: str) -> None:
    try:
        text = HANDLERS["WORKDIR"](instr, st)  # sets WorkingDir in place (a failure ends the build)
    except _USER_ERRORS as err:
        raise _user_error(ctx, instr, err) from None
    path = st.cfg["WorkingDir"]
    user = st.cfg.get("User") or ""
    key = step_key(st.cache_key, "WORKDIR", path, user)
    n = _start_step(ctx, st, key, title, text)
    if n is None:
        return
    lowers = ctx.backend.layer_dirs(st.layers)
    view = MergedView(lowers)
    layer = None
    if view.is_dir(path):
        st.history.append({"created": now_rfc3339(), "created_by": text, "empty_layer": True})
    else:
        upper = _new_upper(ctx)
        try:
            # BuildKit creates a missing WORKDIR (mode 0755) owned by the current USER.
            owner = resolve_chown(user, view) if user else None
            spec = copyinstr.CopySpec(sources=[], dest=path, chown=owner)
            with copyinstr.TreeWriter(upper, lowers, spec) as writer:
                writer.ensure_dir(writer.resolve(path), None)
        except _USER_ERRORS as err:
            _drop_upper(ctx, upper)
            raise _user_error(ctx, instr, err) from None
        layer = _commit_layer(ctx, st, upper, text)
    _record(ctx, st, key, layer)
    ctx.progress.done(n)


def _source_fs(ctx: StepContext, st: StageState, instr: Instruction):
    src = instr.flags.get("from")
    if not src:
        if ctx.context is None:
            raise fail(ctx.filename, instr.line,
                       f"{instr.cmd} needs a build context, but the Dockerfile came from stdin (`-`)")
        return ctx.context, False
    try:
        name = st.word(src, st.expand_env())
    except ExpandError as err:
        raise _user_error(ctx, instr, err) from None
    layers = ctx.stage_layers(name)
    if layers is None:
        try:
            _, _, layers = ctx.backend.base_image(name)
        except ImageNotFound as err:
            raise fail(ctx.filename, instr.line,
                       f"COPY --from={name}: no stage or local image with that name ({err})") from None
    return StageFS(ctx.backend.layer_dirs(layers)), True


def do_copy(ctx: StepContext, st: StageState, instr: Instruction, title: str) -> None:
    is_add = instr.cmd == "ADD"
    st.used = set()
    try:
        env = st.expand_env()
        words = [st.word(a, env) for a in instr.args]
        srcs, dest = words[:-1], words[-1]
        # the --chown text goes in the key: names resolve the same way on the same parent
        chown_flag, chmod_flag = instr.flags.get("chown"), instr.flags.get("chmod")
        chown_text = st.word(chown_flag, env) if chown_flag else None
        chmod = parse_chmod(st.word(chmod_flag, env)) if chmod_flag else None
    except _USER_ERRORS as err:
        raise _user_error(ctx, instr, err) from None
    workdir = st.cfg.get("WorkingDir") or "/"
    heredocs = {h.name: h for h in instr.heredocs}
    files: list[tuple[str, bytes, int, float | None]] = []
    local: list[str] = []
    for s in srcs:
        token = s.lstrip("<").lstrip("-").strip("'\"")
        if s.startswith("<<") and token in heredocs:
            h = heredocs[token]
            content = h.content
            if h.expand:
                try:
                    result = st.lexer.heredoc(h.content, env)
                except ExpandError as err:
                    raise _user_error(ctx, instr, err) from None
                st.used |= result.used
                content = result.words[0]
            files.append((token, content.encode(), 0o644, None))
        elif is_add and (s.startswith("http://") or s.startswith("https://")):
            from sampan.build.instructions.archive import fetch_url

            try:
                name, data, mtime = fetch_url(s, instr.flags.get("checksum"))
            except _USER_ERRORS as err:
                raise _user_error(ctx, instr, err) from None
            files.append((name, data, 0o600, mtime))
        else:
            local.append(s)
    fs, _ = _source_fs(ctx, st, instr) if local else (None, False)
    try:
        matches = copyinstr.resolve_matches(fs, local) if local else []  # type: ignore[arg-type]  # fs is set when local is
        named = [pair for group in matches for pair in group]
        # the names matter too: `COPY link /d/` creates /d/link
        memo = ctx.digests if fs is ctx.context else None
        per_file: dict[str, str] = {}
        digest = (hash_sources(fs, [r for _, r in named], memo, per_file)  # type: ignore[arg-type]  # fs is set when local is
                  + repr([n for n, _ in named]) if local else "")
        if memo is not None:
            memo.flush()
    except _FILE_ERRORS as err:
        raise _user_error(ctx, instr, err) from None
    inline = [(n, hashlib.sha256(d).hexdigest(), m, t) for n, d, m, t in files]
    key = step_key(st.cache_key, instr.cmd, srcs, dest, workdir, chown_text, chmod,
                   instr.flags.get("from"), digest, inline)
    n = _start_step(ctx, st, key, title, files=per_file)
    if n is None:
        return
    lowers = ctx.backend.layer_dirs(st.layers)  # only now: a cache hit needs no unpacked layers
    try:
        chown = resolve_chown(chown_text, MergedView(lowers)) if chown_text else None
    except _USER_ERRORS as err:
        raise _user_error(ctx, instr, err) from None
    spec = copyinstr.CopySpec([], dest, workdir, chown, chmod,
                              preserve_owner=bool(instr.flags.get("from")), extract_archives=is_add)
    upper = _new_upper(ctx)
    try:
        if local:
            copyinstr.copy_into(fs, spec, lowers, upper, matches)  # type: ignore[arg-type]
        if files:
            copyinstr.write_files(spec, lowers, upper, files)
    except _FILE_ERRORS as err:
        _drop_upper(ctx, upper)
        raise _user_error(ctx, instr, err, writing=upper) from None
    flags = "".join(f"--{k}={v} " for k, v in sorted(instr.flags.items()) if k in ("from", "chown", "chmod"))
    layer = _commit_layer(ctx, st, upper, f"{instr.cmd} {flags}{' '.join(srcs)} {dest}")
    _record(ctx, st, key, layer)
    ctx.progress.done(n)
