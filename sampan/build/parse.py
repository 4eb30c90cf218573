"""Dockerfile -> typed instructions, with Docker's validation and `file:line` errors.

Tokenising is BuildKit's own parser (the `dockerfile` package); this module
adds parser directives, flag and argument checks, heredoc metadata, and the
split into global ARGs and stages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sampan.errors import BuildError

KNOWN = {
    "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK",
    "LABEL", "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
}
# Flags each instruction accepts; True = needs a value, False = boolean.
FLAGS: dict[str, dict[str, bool]] = {
    "FROM": {"platform": True},
    "RUN": {"mount": True, "network": True},
    "COPY": {"from": True, "chown": True, "chmod": True, "link": False},
    "ADD": {"chown": True, "chmod": True, "link": False, "checksum": True, "keep-git-dir": False},
    "HEALTHCHECK": {"interval": True, "timeout": True, "start-period": True,
                    "start-interval": True, "retries": True},
}
_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")
_HEREDOC_TOKEN = re.compile(r"^<<(-?)(['\"]?)([A-Za-z0-9_]+)\2$")


@dataclass(frozen=True)
class Heredoc:
    name: str
    content: str
    expand: bool  # unquoted delimiter: variables are expanded (COPY) / left to the shell (RUN)


@dataclass
class Instruction:
    cmd: str  # upper case: "RUN"
    args: list[str]
    flags: dict[str, str | None]
    json: bool
    original: str
    line: int
    end_line: int
    heredocs: list[Heredoc] = field(default_factory=list)
    mounts: list = field(default_factory=list)  # RUN --mount: instructions.mounts.RunMount
    trigger: "Instruction | None" = None  # ONBUILD's instruction

    def where(self, filename: str) -> str:
        return f"{filename}:{self.line}"


@dataclass
class Stage:
    index: int
    base: str  # unexpanded image reference, stage name, or "scratch"
    name: str | None  # lower-cased "AS" name
    platform: str | None
    from_instr: Instruction
    instructions: list[Instruction] = field(default_factory=list)

    @property
    def display_name(self) -> str:
        return self.name or f"stage-{self.index}"


@dataclass
class Dockerfile:
    filename: str
    escape: str
    directives: dict[str, str]
    meta_args: list[Instruction]
    stages: list[Stage]


def fail(filename: str, line: int | None, message: str) -> BuildError:
    where = f"{filename}:{line}" if line else filename
    return BuildError(f"{where}: {message}")


def parse_directives(text: str) -> dict[str, str]:
    """Parser directives at the very top (`# syntax=`, `# escape=`), as Docker reads them."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        m = _DIRECTIVE.match(line.strip()) if line.strip() else None
        if not m:
            break
        key = m.group(1).lower()
        if key in found:
            break  # Docker: a repeated directive ends the directive block
        found[key] = m.group(2)
    return found


def parse_dockerfile(text: str, filename: str = "Dockerfile", memo=None) -> Dockerfile:
    """`memo` (optional, get(text) / put(text, commands)): the tokenizer's output of texts
    seen before; loading the Go parser costs a cached rebuild ~5-15 ms of its ~40."""
    directives = parse_directives(text)
    escape = directives.get("escape", "\\")
    if escape not in ("\\", "`"):
        raise fail(filename, 1, f"invalid escape token {escape!r}: it must be \\ or `")
    commands = memo.get(text) if memo is not None else None
    if commands is None:
        import dockerfile as bk  # BuildKit's parser (~5 ms); only builds need it
        try:
            commands = bk.parse_string(text)
        except bk.GoParseError as err:
            raise fail(filename, _error_line(text, str(err)), f"{err}") from None
        if memo is not None:
            memo.put(text, commands)
    meta_args: list[Instruction] = []
    stages: list[Stage] = []
    for c in commands:
        instr = _instruction(c, filename)
        if instr.cmd == "FROM":
            stages.append(_stage(instr, len(stages), filename))
        elif not stages:
            if instr.cmd != "ARG":
                raise fail(filename, instr.line,
                           f"{instr.cmd} before the first FROM: only ARG may come before FROM")
            meta_args.append(instr)
        else:
            stages[-1].instructions.append(instr)
    if not stages:
        raise fail(filename, None, "no FROM instruction: a Dockerfile must start a build stage with FROM")
    names: set[str] = set()
    for st in stages:
        if st.name:
            if st.name in names:
                raise fail(filename, st.from_instr.line, f"duplicate stage name {st.name!r}")
            names.add(st.name)
    return Dockerfile(filename, escape, directives, meta_args, stages)


def _error_line(text: str, message: str) -> int | None:
    """The parser's errors carry no line: find the shortest prefix that fails the same way.
    Its errors belong to one instruction, so every prefix that holds it fails that way and
    none shorter does: doubling then halving parses O(log n) prefixes (trying them one by
    one cost 16 s on a Dockerfile of 2000 lines)."""
    import dockerfile as bk

    lines = text.splitlines(keepends=True)

    def fails_so(n: int) -> bool:
        try:
            bk.parse_string("".join(lines[:n]))
        except bk.GoParseError as err:
            return str(err) == message
        return False

    hi = 1
    while hi < len(lines) and not fails_so(hi):
        hi *= 2
    hi = min(hi, len(lines))
    if not fails_so(hi):
        return None
    lo = hi // 2  # fails_so(lo) is false (or lo is 0)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if fails_so(mid):
            hi = mid
        else:
            lo = mid
    return hi


def _instruction(c, filename: str) -> Instruction:
    cmd = c.cmd.upper()
    if cmd not in KNOWN:
        raise fail(filename, c.start_line, f"unknown instruction: {c.cmd}")
    instr = Instruction(cmd, list(c.value), {}, bool(c.json), c.original, c.start_line, c.end_line)
    if cmd == "ONBUILD":
        if not c.sub_cmd:
            raise fail(filename, c.start_line, "ONBUILD requires at least one argument")
        sub = c.sub_cmd.upper()
        if sub == "ONBUILD":
            raise fail(filename, c.start_line, "chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
        if sub in ("FROM", "MAINTAINER"):
            raise fail(filename, c.start_line, f"{sub} isn't allowed as an ONBUILD trigger")
        trigger_text = c.original.split(None, 1)[1] if " " in c.original.strip() else ""
        instr.args = [trigger_text]
        instr.trigger = parse_trigger(trigger_text, filename, c.start_line)
        return instr
    instr.flags = _flags(cmd, c.flags, filename, c.start_line, instr.mounts)
    instr.heredocs = _heredocs(c, filename)
    _check_args(instr, filename)
    return instr


def parse_trigger(text: str, filename: str, line: int) -> Instruction:
    """Parse one ONBUILD trigger ("RUN x") as an instruction reported at `line`."""
    import dockerfile as bk

    try:
        cmds = bk.parse_string(text + "\n")
    except bk.GoParseError as err:
        raise fail(filename, line, f"bad ONBUILD trigger {text!r}: {err}") from None
    if len(cmds) != 1:
        raise fail(filename, line, f"bad ONBUILD trigger {text!r}")
    instr = _instruction(cmds[0], filename)
    if instr.cmd in ("ONBUILD", "FROM", "MAINTAINER"):
        raise fail(filename, line, f"{instr.cmd} isn't allowed as an ONBUILD trigger")
    instr.line = instr.end_line = line
    return instr


def _flags(cmd: str, raw: tuple[str, ...], filename: str, line: int,
           mounts: list) -> dict[str, str | None]:
    allowed = FLAGS.get(cmd, {})
    flags: dict[str, str | None] = {}
    for item in raw:
        body = item[2:] if item.startswith("--") else item
        name, eq, value = body.partition("=")
        if name == "mount" and cmd == "RUN":  # repeatable: one RunMount each
            if not eq:
                raise fail(filename, line, "missing a value on flag: --mount")
            from sampan.build.instructions.mounts import MountError, parse_mount
            try:
                mounts.append(parse_mount(value))
            except MountError as err:
                raise fail(filename, line, f"RUN --mount={value}: {err}") from None
            continue
        if name not in allowed:
            known = ", ".join("--" + f for f in allowed) or "none"
            raise fail(filename, line, f"unknown flag: --{name} for {cmd} (allowed: {known})")
        if allowed[name] and not eq:
            raise fail(filename, line, f"missing a value on flag: --{name}")
        if not allowed[name]:
            if eq and value.lower() not in ("true", "false"):
                raise fail(filename, line, f"expecting boolean value for flag --{name}, not: {value}")
            value = value.lower() if eq else "true"
        flags[name] = value
    return flags


def _heredocs(c, filename: str) -> list[Heredoc]:
    if not c.heredocs:
        return []
    tokens = {}
    for word in " ".join(c.value).split():
        m = _HEREDOC_TOKEN.match(word)
        if m:
            tokens[m.group(3)] = (m.group(1) == "-", m.group(2) == "")
    docs = []
    for h in c.heredocs:
        chomp, expand = tokens.get(h.name, (False, True))
        content = h.content
        if chomp:  # <<-EOF strips leading tabs, as in a shell
            content = "".join(l.lstrip("\t") for l in content.splitlines(keepends=True))
        docs.append(Heredoc(h.name, content, expand))
    if c.cmd.upper() not in ("RUN", "COPY", "ADD"):
        raise fail(filename, c.start_line, f"{c.cmd.upper()} does not support heredocs")
    return docs


def _check_args(instr: Instruction, filename: str) -> None:
    cmd, args = instr.cmd, instr.args
    where = instr.line

    def need(cond: bool, message: str) -> None:
        if not cond:
            raise fail(filename, where, message)

    if cmd == "FROM":
        need(len(args) in (1, 3) and (len(args) == 1 or args[1].upper() == "AS"),
             "FROM requires either one or three arguments: FROM image [AS name]")
    elif cmd in ("COPY", "ADD"):
        need(len(args) >= 2, f"{cmd} requires at least two arguments, but only "
             f"{'one was' if args else 'none were'} provided. Destination could not be determined.")
    elif cmd == "ENV":
        need(bool(args), "ENV requires at least one argument")
        need(len(args) % 2 == 0 and all(args[i] for i in range(0, len(args), 2)),
             "ENV must have two arguments: ENV NAME=value or ENV NAME value")
    elif cmd == "LABEL":
        need(bool(args) and len(args) % 2 == 0, "LABEL requires at least one argument: LABEL key=value")
    elif cmd == "ARG":
        need(bool(args), "ARG requires at least one argument")
        for a in args:
            need(bool(a.partition("=")[0]), f"ARG names can not be blank: {a!r}")
    elif cmd in ("WORKDIR", "USER", "STOPSIGNAL", "MAINTAINER"):
        need(len(args) == 1 and bool(args[0]), f"{cmd} requires exactly one argument")
    elif cmd in ("EXPOSE", "VOLUME"):
        need(bool(args) and any(args), f"{cmd} requires at least one argument")
    elif cmd == "SHELL":
        need(instr.json and bool(args), 'SHELL requires the arguments to be in JSON form: SHELL ["/bin/sh", "-c"]')
    elif cmd == "RUN":
        need(bool(args) and (instr.json or any(a.strip() for a in args)), "RUN requires at least one argument")
    elif cmd == "HEALTHCHECK":
        need(bool(args), "HEALTHCHECK requires an argument: CMD ... or NONE")
        kind = args[0].upper()
        need(kind in ("CMD", "NONE"), f"unknown type {args[0]!r} in HEALTHCHECK (try CMD)")
        if kind == "NONE":
            need(len(args) == 1 and not instr.flags, "HEALTHCHECK NONE takes no other arguments")
        else:
            need(len(args) > 1, "HEALTHCHECK CMD requires a command")


def _stage(instr: Instruction, index: int, filename: str) -> Stage:
    name = instr.args[2].lower() if len(instr.args) == 3 else None
    if name is not None and not re.match(r"^[a-z][a-z0-9._-]*$", name):
        raise fail(filename, instr.line,
                   f"invalid name for build stage: {instr.args[2]!r}, name can't start with a number or contain symbols")
    return Stage(index, instr.args[0], name, instr.flags.get("platform"), instr)
