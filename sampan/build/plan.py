"""Stages, target selection and dependency order: only what the target needs is built."""

from __future__ import annotations

from dataclasses import dataclass, field

from sampan.build.expand import ExpandError, Lexer
from sampan.build.parse import Dockerfile, Stage, fail
from sampan.oci.platform import goarch

PROXY_ARGS = frozenset({"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY",
                        "ftp_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"})


def platform_args() -> dict[str, str]:
    """BuildKit's automatic platform ARGs (build and target are this machine)."""
    arch = goarch()
    plat = f"linux/{arch}"
    out = {}
    for prefix in ("BUILD", "TARGET"):
        out.update({f"{prefix}PLATFORM": plat, f"{prefix}OS": "linux", f"{prefix}ARCH": arch,
                    f"{prefix}VARIANT": ""})
    return out


@dataclass
class Plan:
    dockerfile: Dockerfile
    target: Stage
    order: list[Stage]  # stages to build, dependencies first
    meta: dict[str, str]  # global ARG values (after --build-arg)
    bases: dict[int, str]  # stage index -> expanded FROM (image ref or "scratch")
    base_stage: dict[int, int] = field(default_factory=dict)  # stage index -> parent stage index
    consumed: set[str] = field(default_factory=set)  # build args something declared


def find_stage(df: Dockerfile, name: str, before: int | None = None) -> Stage | None:
    """A stage by AS name (case-insensitive) or by index; only earlier ones when `before`."""
    stages = df.stages if before is None else df.stages[:before]
    lname = name.lower()
    for st in stages:
        if st.name == lname:
            return st
    if name.isdigit():
        idx = int(name)
        if idx < len(stages):
            return stages[idx]
    return None


def global_args(df: Dockerfile, build_args: dict[str, str], lexer: Lexer,
                consumed: set[str]) -> dict[str, str]:
    meta = {k: v for k, v in platform_args().items()}
    for instr in df.meta_args:
        for item in instr.args:
            name, eq, default = item.partition("=")
            consumed.add(name)
            if name in build_args:
                meta[name] = build_args[name]
            elif eq:
                try:
                    meta[name] = lexer.word(default, meta)
                except ExpandError as err:
                    raise fail(df.filename, instr.line, str(err)) from None
    return meta


def _check_platform(df: Dockerfile, st: Stage, lexer: Lexer, meta: dict[str, str]) -> None:
    """FROM --platform is accepted for this machine's platform (e.g. $BUILDPLATFORM)."""
    try:
        wanted = lexer.word(st.platform or "", meta)
    except ExpandError as err:
        raise fail(df.filename, st.from_instr.line, str(err)) from None
    host = meta.get("TARGETPLATFORM") or platform_args()["TARGETPLATFORM"]
    parts = wanted.split("/")
    if parts[:2] != host.split("/")[:2]:
        raise fail(df.filename, st.from_instr.line,
                   f"FROM --platform={wanted}: sampan builds only for this machine's platform ({host})")


def make_plan(df: Dockerfile, target: str | None, build_args: dict[str, str]) -> Plan:
    lexer = Lexer(df.escape)
    consumed: set[str] = set()
    meta = global_args(df, build_args, lexer, consumed)
    if target:
        tstage = find_stage(df, target)
        if tstage is None or (target.isdigit() and tstage.name):
            raise fail(df.filename, None, f"target stage {target!r} could not be found")
    else:
        tstage = df.stages[-1]
    bases: dict[int, str] = {}
    base_stage: dict[int, int] = {}
    deps: dict[int, set[int]] = {}
    for st in df.stages:
        try:
            base = lexer.word(st.base, meta)
        except ExpandError as err:
            raise fail(df.filename, st.from_instr.line, str(err)) from None
        if not base:
            raise fail(df.filename, st.from_instr.line,
                       f"base name ({st.base}) should not be blank")
        deps[st.index] = set()
        parent = find_stage(df, base, before=st.index) if not base.isdigit() else None
        if parent is not None:
            base_stage[st.index] = parent.index
            deps[st.index].add(parent.index)
        elif find_stage(df, base) is not None and not base.isdigit():
            raise fail(df.filename, st.from_instr.line,
                       f"stage {base!r} is used before it is defined (circular dependency)")
        bases[st.index] = base
        for instr in st.instructions:
            srcs = [instr.flags.get("from")] if instr.cmd == "COPY" else []
            srcs += [m.from_ for m in instr.mounts]  # RUN --mount=from=<stage>
            for src in filter(None, srcs):
                try:
                    src = lexer.word(src, meta)
                except ExpandError as err:
                    raise fail(df.filename, instr.line, str(err)) from None
                dep = find_stage(df, src)
                if dep is not None:
                    if dep.index >= st.index:
                        raise fail(df.filename, instr.line,
                                   f"{instr.cmd} --from={src} refers to this stage or a later one "
                                   "(circular dependency)")
                    deps[st.index].add(dep.index)
    order: list[Stage] = []
    seen: set[int] = set()

    def visit(idx: int) -> None:
        if idx in seen:
            return
        seen.add(idx)
        for d in sorted(deps[idx]):
            visit(d)
        order.append(df.stages[idx])

    visit(tstage.index)
    for st in order:
        if st.platform:
            _check_platform(df, st, lexer, meta)
    return Plan(df, tstage, order, meta, bases, base_stage, consumed)
