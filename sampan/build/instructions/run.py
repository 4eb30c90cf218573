"""RUN: the argv Docker would run (shell/exec form, heredocs) and its environment."""

from __future__ import annotations

import re

from sampan.build.instructions.metadata import DEFAULT_SHELL
from sampan.build.parse import Instruction
from sampan.build.plan import PROXY_ARGS

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_ONLY_HEREDOC = re.compile(r"^<<-?(['\"]?)([A-Za-z0-9_]+)\1$")


def run_argv(instr: Instruction, shell: list[str] | None) -> list[str]:
    shell = list(shell or DEFAULT_SHELL)
    if instr.json:
        return list(instr.args)
    text = " ".join(instr.args)
    if instr.heredocs:
        only = _ONLY_HEREDOC.match(text.strip())
        if only and len(instr.heredocs) == 1:
            # `RUN <<EOF ... EOF`: the heredoc is the script.
            script = instr.heredocs[0].content
            if script.startswith("#!"):
                return shell + [_shebang_runner(script), "sampan-heredoc", script]
            return shell + [script]
        # Otherwise the shell gets the command line with the heredoc bodies after it.
        body = "".join(f"{h.content}{h.name}\n" for h in instr.heredocs)
        return shell + [f"{text}\n{body}"]
    return shell + [text]


def _shebang_runner(script: str) -> str:
    """A script with `#!interp`: written to the container's /dev (a tmpfs, so not in the
    layer) and run by its interpreter, as BuildKit runs such a heredoc as a file."""
    interp = script[2:].split("\n", 1)[0].strip()
    quoted = " ".join("'" + part.replace("'", "'\\''") + "'" for part in interp.split(None, 1)) or "/bin/sh"
    return ('f=/dev/.sampan-heredoc-$$; printf %s "$1" > "$f" && chmod 700 "$f" && '
            f'exec {quoted} "$f"')


def run_env(image_env: list[str], args: dict[str, str], build_args: dict[str, str]) -> list[str]:
    """Image ENV, plus build args in scope that ENV does not set, plus proxy args; PATH default."""
    names = {e.partition("=")[0] for e in image_env}
    env = list(image_env)
    for k, v in args.items():
        if k not in names:
            env.append(f"{k}={v}")
            names.add(k)
    for k in sorted(PROXY_ARGS & build_args.keys()):
        if k not in names:
            env.append(f"{k}={build_args[k]}")
            names.add(k)
    if "PATH" not in names:
        env.insert(0, f"PATH={DEFAULT_PATH}")
    return env


def created_by(argv: list[str], args: dict[str, str]) -> str:
    """Docker's history text: `RUN |2 A=1 B=2 /bin/sh -c cmd`, args in declaration order."""
    prefix = ""
    if args:
        prefix = f"|{len(args)} " + " ".join(f"{k}={v}" for k, v in args.items()) + " "
    return "RUN " + prefix + " ".join(argv)
