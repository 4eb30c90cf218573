"""Run a build: parse, plan, build the stages the target needs, write the image, tag it.

Entry point for the engine: `build(backend, db, options, progress) -> BuildResult`.
Tags move only after the image is completely written; a failure leaves the
cache entries of the steps that succeeded and nothing else.
"""

from __future__ import annotations

import copy
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sampan.build import steps
from sampan.build.backend import BuildBackend
from sampan.build.cache import BuildCache, ParseMemo, step_key
from sampan.build.context import ContextFS, DigestMemo
from sampan.build.expand import Lexer
from sampan.build.ignore import load_ignore_file
from sampan.build.instructions.run import DEFAULT_PATH
from sampan.build.parse import Dockerfile, Instruction, Stage, fail, parse_dockerfile, parse_trigger
from sampan.build.plan import PROXY_ARGS, Plan, find_stage, make_plan, platform_args
from sampan.build.progress import Progress
from sampan.build.stage_state import StageState
from sampan.errors import BuildError, ImageNotFound, InvalidArgument, SampanError
from sampan.oci.reference import normalize, parse_reference
from sampan.state.db import Database

_LAYER_STEPS = ("RUN", "COPY", "ADD", "WORKDIR")


@dataclass
class BuildOptions:
    dockerfile_text: str
    context_dir: Path | None  # None: the Dockerfile came on stdin with no context
    dockerfile_name: str = "Dockerfile"  # as shown in errors
    dockerfile_path: Path | None = None  # for <Dockerfile>.dockerignore
    tags: list[str] = field(default_factory=list)
    build_args: dict[str, str] = field(default_factory=dict)
    target: str | None = None
    no_cache: bool = False
    network: str = "default"
    labels: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, bytes] = field(default_factory=dict)  # --secret: id -> content
    cache_from: list[str] = field(default_factory=list)  # images whose history seeds the cache
    # A context that is a tar or a git repository (sources.ContextSource), made into
    # context_dir by the build; dockerfile_text "" then means dockerfile_name inside it.
    context_source: Any = None


@dataclass
class BuildResult:
    image_id: str
    tags: list[str]
    image: Any  # sampan.store.ImageInfo
    steps: int
    cached_steps: int
    warnings: list[str]


def parse_build_args(items: list[str], environ: dict[str, str]) -> dict[str, str]:
    """`--build-arg K=V`, or `--build-arg K` taking K from the environment (Docker)."""
    out: dict[str, str] = {}
    for item in items:
        key, eq, value = item.partition("=")
        if not key:
            raise InvalidArgument(f"invalid --build-arg {item!r}: expected KEY=VALUE")
        if eq:
            out[key] = value
        elif key in environ:
            out[key] = environ[key]
    return out


def build(backend: BuildBackend, db: Database, options: BuildOptions, progress: Progress) -> BuildResult:
    return _Builder(backend, db, options, progress).run()


class _Builder:
    def __init__(self, backend: BuildBackend, db: Database, options: BuildOptions, progress: Progress):
        self.backend = backend
        self.opts = options
        self.progress = progress
        self.db = db
        self.cache = BuildCache(db)
        self.states: dict[int, StageState] = {}
        self.consumed: set[str] = set()

    def run(self) -> BuildResult:
        made: list[Path] = []
        try:
            if self.opts.context_source is not None:
                self._fetch_context(made)
            return self._run()
        finally:
            for d in made:
                shutil.rmtree(d, ignore_errors=True)
            self.progress.close()

    def _fetch_context(self, made: list[Path]) -> None:
        """A tar or git context, unpacked or cloned into a dir of the build's scratch."""
        from sampan.build import sources
        o = self.opts
        for ref in o.tags:
            _check_tag(ref)
        src = o.context_source
        n = self.progress.start("[internal] load remote build context" if src.kind == "git"
                                else "[internal] load build context")
        d = self.backend.temp_dir()
        made.append(d)
        o.context_dir = sources.prepare(src, d)
        self.progress.done(n)
        if not o.dockerfile_text:
            name = sources.inner_path(o.dockerfile_name or "Dockerfile")
            o.dockerfile_text = sources.read_inner_dockerfile(o.context_dir, name)
            o.dockerfile_name = name
            o.dockerfile_path = o.context_dir / name
        o.context_source = None

    def _run(self) -> BuildResult:
        o = self.opts
        for ref in o.tags:  # a bad -t fails before any work, as in Docker
            _check_tag(ref)
        n = self.progress.start(f"[internal] load build definition from {o.dockerfile_name}")
        self.progress.note(n, f"transferring dockerfile: {len(o.dockerfile_text.encode())}B done")
        df = parse_dockerfile(o.dockerfile_text, o.dockerfile_name, ParseMemo(self.db))
        self.progress.done(n)
        plan = make_plan(df, o.target, o.build_args)
        self.consumed |= plan.consumed
        context = None
        if o.context_dir is not None:
            if not o.context_dir.is_dir():
                raise BuildError(f"unable to prepare context: path {str(o.context_dir)!r} not found")
            n = self.progress.start("[internal] load .dockerignore")
            try:
                ignore = load_ignore_file(o.context_dir, o.dockerfile_path)
            except ValueError as err:
                raise BuildError(f".dockerignore: {err}") from None
            self.progress.done(n)
            context = ContextFS(o.context_dir.resolve(), ignore)
        ctx = steps.StepContext(self.backend, self.cache, self.progress, df.filename, o.build_args,
                                o.network, o.no_cache, context, lambda name: self._stage_layers(df, name),
                                digests=DigestMemo(self.db) if context is not None else None,
                                secrets=dict(o.secrets), cache_from=self._candidates())
        if ctx.digests is not None and o.context_dir is not None:
            ctx.digests.preload(o.context_dir.resolve())
        try:
            for stage in plan.order:
                self.states[stage.index] = self._build_stage(ctx, plan, stage)
            return self._export(ctx, self.states[plan.target.index])
        finally:
            for d in list(ctx.temp_dirs):
                shutil.rmtree(d, ignore_errors=True)

    def _candidates(self) -> list[steps.Candidate]:
        """--cache-from images (one that is not here is skipped, as Docker does)."""
        out = []
        for ref in self.opts.cache_from:
            local = getattr(self.backend, "local_image", None) or self.backend.base_image
            try:
                _, config, layers = local(ref)  # never pulled (Docker's classic builder)
            except (ImageNotFound, SampanError):
                self.progress.block(f"[Warning] --cache-from {ref}: no such image here, ignored")
                continue
            out.append(steps.Candidate(list(config.get("history") or []), list(layers),
                                       [steps.layer_id(self.backend, layer) for layer in layers]))
        return out

    def _stage_layers(self, df: Dockerfile, name: str) -> list | None:
        stage = find_stage(df, name)
        if stage is None or stage.index not in self.states:
            return None
        return self.states[stage.index].layers

    def _label(self, plan: Plan, stage: Stage, i: int, total: int) -> str:
        if len(plan.dockerfile.stages) == 1:
            return f"[{i}/{total}]"
        return f"[{stage.display_name} {i}/{total}]"

    def _base(self, ctx: steps.StepContext, plan: Plan, stage: Stage, lexer: Lexer) -> StageState:
        base = plan.bases[stage.index]
        if stage.index in plan.base_stage:
            parent = self.states[plan.base_stage[stage.index]]
            return StageState(stage, lexer, copy.deepcopy(parent.image_config), list(parent.layers),
                              list(parent.history), parent.base_id, parent.cache_key,
                              cmd_set=parent.cmd_set)
        if base.lower() == "scratch":
            cfg = {"architecture": platform_args()["TARGETARCH"], "os": "linux", "config": {},
                   "rootfs": {"type": "layers", "diff_ids": []}}
            return StageState(stage, lexer, cfg, [], [], "scratch", step_key("scratch"))
        try:
            image_id, config, layers = self.backend.base_image(base)
        except ImageNotFound as err:
            raise fail(plan.dockerfile.filename, stage.from_instr.line,
                       f"base image {base!r} not found locally ({err.message}); "
                       "`sampan pull` or `sampan import` it first") from None
        config = copy.deepcopy(config)
        history = list(config.pop("history", []) or [])
        return StageState(stage, lexer, config, list(layers), history, image_id,
                          step_key("image", image_id))

    def _build_stage(self, ctx: steps.StepContext, plan: Plan, stage: Stage) -> StageState:
        lexer = Lexer(plan.dockerfile.escape)
        st = self._base(ctx, plan, stage, lexer)
        env = st.cfg.get("Env") or []
        if not any(e.startswith("PATH=") for e in env):
            # BuildKit: every stage's image gets a PATH, so the built image has one too
            st.cfg["Env"] = env + [f"PATH={DEFAULT_PATH}"]
        triggers = self._triggers(plan, stage, st)
        instrs = triggers + stage.instructions
        total = 1 + sum(1 for i in instrs if i.cmd in _LAYER_STEPS)
        n = self.progress.start(f"{self._label(plan, stage, 1, total)} FROM {plan.bases[stage.index]}")
        self.progress.done(n)
        step = 1
        for instr in instrs:
            if instr.cmd == "ARG":
                steps.do_arg(ctx, st, instr, plan.meta, self.consumed)
                continue
            if instr.cmd not in _LAYER_STEPS:
                steps.do_metadata(ctx, st, instr)
                continue
            step += 1
            prefix = "ONBUILD " if instr in triggers else ""
            title = f"{self._label(plan, stage, step, total)} {prefix}{_show(instr)}"
            if instr.cmd == "RUN":
                steps.do_run(ctx, st, instr, title)
            elif instr.cmd == "WORKDIR":
                steps.do_workdir(ctx, st, instr, title)
            else:
                steps.do_copy(ctx, st, instr, title)
        return st

    def _triggers(self, plan: Plan, stage: Stage, st: StageState) -> list[Instruction]:
        """ONBUILD triggers of the base image run first; the new image does not inherit them."""
        if stage.index in plan.base_stage:
            return []  # FROM <stage>: triggers only fire when building FROM an image
        texts = list(st.cfg.get("OnBuild") or [])
        if not texts:
            return []
        st.cfg["OnBuild"] = None
        return [parse_trigger(t, plan.dockerfile.filename, stage.from_instr.line) for t in texts]

    def _export(self, ctx: steps.StepContext, st: StageState) -> BuildResult:
        o = self.opts
        warnings = []
        unused = sorted(k for k in o.build_args if k not in self.consumed and k not in PROXY_ARGS)
        if unused:
            warnings.append(f"[Warning] One or more build-args {unused} were not consumed")
            self.progress.block(warnings[-1])
        config = copy.deepcopy(st.image_config)
        if o.labels:
            config.setdefault("config", {})
            config["config"]["Labels"] = {**(config["config"].get("Labels") or {}), **o.labels}
        config.setdefault("architecture", platform_args()["TARGETARCH"])
        config.setdefault("os", "linux")
        if st.history:
            config["created"] = st.history[-1].get("created")
        n = self.progress.start("exporting to image")
        self.progress.note(n, "exporting layers done")
        tags = list(o.tags)
        image = self.backend.write_image(config, list(st.layers), tags[0] if tags else None,
                                         list(st.history))
        self.progress.note(n, f"writing image {image.id} done")
        for ref in tags[1:]:
            self.backend.tag(image.id, ref)
        for ref in tags:
            self.progress.note(n, f"naming to {normalize(ref)} done")
        self.progress.done(n)
        return BuildResult(image.id, tags, image, ctx.total_steps, ctx.cached_steps, warnings)


def _check_tag(ref: str) -> None:
    if parse_reference(ref).digest:
        raise InvalidArgument(f"invalid tag {ref!r}: a build tag cannot contain a digest")


def _show(instr: Instruction) -> str:
    text = instr.original.split("\n", 1)[0]
    return text if len(text) <= 200 else text[:197] + "..."
