"""`completion bash|zsh|fish`: a shell completion script made from the commands' own
argparse parsers, so it never lists a flag that does not exist.

Each command's parser is built by running its `main` with `args.capturing` set: the first
`parse_args` raises `Captured` with the parser, before anything is done. Container, image,
volume and network names are completed at completion time by calling sampan itself
(`ps -a --format ...`, `images`, `volume ls -q`, `network ls`), quietly.
"""

from __future__ import annotations

import argparse
import sys

from sampan.cli import args
from sampan.cli.args import Parser
from sampan.cli.main import COMMANDS

GLOBAL_FLAGS = ("--root", "--runroot", "--runtime", "--debug", "-v", "--version", "-h", "--help")
GLOBAL_VALUED = ("--root", "--runroot", "--runtime")
SHELLS = ("bash", "zsh", "fish")


class _NoEngine:
    """What a command gets for an engine while its parser is captured: any use is a bug of
    the capture (the command is then left out of the script), never a real action."""

    def __getattr__(self, name):
        raise RuntimeError("no engine while capturing a parser")


class _Globals:
    root = runroot = runtime = None
    debug = False

    def engine(self, need_root: bool = True):
        return _NoEngine()


def verbs_of(command: str) -> tuple[str, ...]:
    """The subcommands of a management command (empty for a plain one)."""
    if command in ("container", "image"):
        from sampan.cli.commands import groups
        return tuple(groups.CONTAINER if command == "container" else groups.IMAGE)
    if command == "builder":
        return ("prune",)
    if command == "manifest":
        return ("annotate", "create", "inspect", "push", "rm")
    if command in ("volume", "network", "system"):
        module = __import__(f"sampan.cli.commands.{command}", fromlist=["VERBS"])
        return tuple(v for v in module.VERBS if v not in ("list", "remove"))
    return ()


def parser_of(command: str, verb: str | None = None) -> Parser | None:
    if command == "compose":
        return None  # compose passes its arguments on to docker-compose
    import contextlib
    import io
    module = __import__(f"sampan.cli.commands.{COMMANDS[command][0]}", fromlist=["main"])
    args.capturing = True
    try:  # a command that prints before it parses (a usage text) must not reach the script
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            module.main(command, [verb] if verb else [], _Globals())
    except args.Captured as c:
        return c.parser
    except Exception:
        return None
    finally:
        args.capturing = False
    return None


def _kind(key: str, dest: str) -> str:
    """What a positional argument names, for completing its values."""
    group = key.split()[0]
    if group == "inspect" and dest == "names":
        return "objects"
    if group in ("volume", "network") and dest in ("names", "name", "network") and key != f"{group} create":
        return group + "s"
    if dest in ("container", "containers"):
        return "containers"
    if dest in ("image", "images", "source", "target"):
        return "images"
    return "files"


class Spec:
    """One command's completion data: its flags, those that take a value, its positionals."""

    def __init__(self, key: str, parser: Parser | None) -> None:
        self.key = key
        self.flags: list[str] = []
        self.valued: list[str] = []
        self.positionals: list[str] = []
        self.help = ""
        if parser is None:
            return
        self.help = parser.description or ""
        for action in parser._actions:
            if action.option_strings:
                self.flags += action.option_strings
                if action.nargs != 0:
                    self.valued += action.option_strings
            elif action.choices:
                self.positionals.append("choices:" + ",".join(map(str, action.choices)))
            else:
                kind = _kind(key, action.dest)
                many = action.nargs in ("+", "*", argparse.REMAINDER)
                self.positionals.append(kind + ("+" if many else ""))


def specs() -> tuple[list[str], dict[str, list[str]], list[Spec]]:
    commands = list(COMMANDS) + ["help"]
    groups = {c: list(verbs_of(c)) for c in COMMANDS if verbs_of(c)}
    out = []
    for c in COMMANDS:
        if c in groups:
            out += [Spec(f"{c} {v}", parser_of(c, v)) for v in groups[c]]
        else:
            out.append(Spec(c, parser_of(c)))
    help_spec = Spec("help", None)
    help_spec.positionals = ["choices:" + ",".join(COMMANDS)]
    return commands, groups, out + [help_spec]


# ---- bash (and zsh through bashcompinit) ---------------------------------------------------
BASH_HEAD = r'''# sampan completion for bash (made by `sampan completion bash`; load it with
#   source <(sampan completion bash)   or save it in /etc/bash_completion.d/sampan)
_sampan_names() {
    # the names of existing objects, asked of sampan itself with the same --root/--runroot
    local kind=$1
    case "$kind" in
        containers) "${_sampan_cmd[@]}" ps -a --format '{{.Names}}' 2>/dev/null ;;
        images) "${_sampan_cmd[@]}" images --format '{{.Repository}}:{{.Tag}}' 2>/dev/null | grep -v '<none>' ;;
        volumes) "${_sampan_cmd[@]}" volume ls -q 2>/dev/null ;;
        networks) "${_sampan_cmd[@]}" network ls --format '{{.Name}}' 2>/dev/null ;;
        objects) _sampan_names containers; _sampan_names images ;;
    esac
}

_sampan() {
    local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}"
    local i=1 w cmd="" key="" npos=0 expect_value=""
    _sampan_cmd=("${COMP_WORDS[0]}")
    COMPREPLY=()
    # global flags come first; they are passed on to the name lookups
    while [ "$i" -lt "$COMP_CWORD" ]; do
        w="${COMP_WORDS[i]}"
        case "$w" in
            --root|--runroot|--runtime) _sampan_cmd+=("$w" "${COMP_WORDS[i+1]}"); i=$((i+2)); continue ;;
            --root=*|--runroot=*|--runtime=*|--debug) _sampan_cmd+=("$w"); i=$((i+1)); continue ;;
        esac
        break
    done
    if [ "$i" -ge "$COMP_CWORD" ]; then
        case "$prev" in --root|--runroot) COMPREPLY=($(compgen -d -- "$cur")); return ;;
                        --runtime) COMPREPLY=($(compgen -W "native runc crun" -- "$cur")); return ;; esac
        if [[ "$cur" == -* ]]; then
            COMPREPLY=($(compgen -W "$_sampan_global_flags" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "$_sampan_commands" -- "$cur"))
        fi
        return
    fi
    cmd="${COMP_WORDS[i]}"; key="$cmd"; i=$((i+1))
    local verbs; verbs="$(_sampan_verbs "$cmd")"
    if [ -n "$verbs" ]; then
        if [ "$i" -ge "$COMP_CWORD" ]; then
            COMPREPLY=($(compgen -W "$verbs" -- "$cur"))
            return
        fi
        key="$cmd ${COMP_WORDS[i]}"; i=$((i+1))
    fi
    local flags="" valued="" positionals=""
    _sampan_spec "$key"
    # count the positional words before the cursor (a flag's value is not one)
    while [ "$i" -lt "$COMP_CWORD" ]; do
        w="${COMP_WORDS[i]}"
        if [ -n "$expect_value" ]; then expect_value=""
        elif [[ "$w" == -* ]]; then
            [[ "$w" != *=* && " $valued " == *" $w "* ]] && expect_value=1
        else npos=$((npos+1)); fi
        i=$((i+1))
    done
    if [ -n "$expect_value" ]; then
        COMPREPLY=($(compgen -f -- "$cur"))
        return
    fi
    if [[ "$cur" == -* ]]; then
        COMPREPLY=($(compgen -W "$flags" -- "$cur"))
        return
    fi
    local kinds=($positionals) kind=""
    if [ "$npos" -lt "${#kinds[@]}" ]; then kind="${kinds[npos]}"
    elif [ "${#kinds[@]}" -gt 0 ] && [[ "${kinds[-1]}" == *+ ]]; then kind="${kinds[-1]}"; fi
    kind="${kind%+}"
    case "$kind" in
        "") ;;
        files) COMPREPLY=($(compgen -f -- "$cur")) ;;
        choices:*) kind="${kind#choices:}"; COMPREPLY=($(compgen -W "${kind//,/ }" -- "$cur")) ;;
        *) COMPREPLY=($(compgen -W "$(_sampan_names "$kind")" -- "$cur")) ;;
    esac
}
'''


def _sh_quote(words) -> str:
    return "'" + " ".join(words).replace("'", "'\\''") + "'"


def bash_script() -> str:
    commands, groups, all_specs = specs()
    lines = [BASH_HEAD]
    lines.append(f"_sampan_commands={_sh_quote(commands)}")
    lines.append(f"_sampan_global_flags={_sh_quote(GLOBAL_FLAGS)}")
    lines.append("_sampan_verbs() {\n    case \"$1\" in")
    for c, verbs in groups.items():
        lines.append(f"        {c}) echo {_sh_quote(verbs)} ;;")
    lines.append("    esac\n}")
    lines.append("_sampan_spec() {\n    case \"$1\" in")
    for s in all_specs:
        pos = " ".join(s.positionals)  # choices are comma-separated (no spaces: one word each)
        lines.append(f"        {_sh_quote([s.key])}) flags={_sh_quote(s.flags)}; valued={_sh_quote(s.valued)}; "
                     f"positionals={_sh_quote([pos])} ;;")
    lines.append("    esac\n}")
    lines.append("complete -F _sampan sampan")
    return "\n".join(lines) + "\n"


def zsh_script() -> str:
    return ("#compdef sampan\n# sampan completion for zsh (made by `sampan completion zsh`): the bash\n"
            "# completion through zsh's bashcompinit.\n"
            "autoload -U +X compinit && compinit\nautoload -U +X bashcompinit && bashcompinit\n"
            + bash_script())


def fish_script() -> str:
    commands, groups, all_specs = specs()
    q = lambda s: "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"  # noqa: E731
    lines = ["# sampan completion for fish (made by `sampan completion fish`)",
             "function __sampan_names",
             "    switch $argv[1]",
             "        case containers; sampan ps -a --format '{{.Names}}' 2>/dev/null",
             "        case images; sampan images --format '{{.Repository}}:{{.Tag}}' 2>/dev/null | string match -v '*<none>*'",
             "        case volumes; sampan volume ls -q 2>/dev/null",
             "        case networks; sampan network ls --format '{{.Name}}' 2>/dev/null",
             "        case objects; __sampan_names containers; __sampan_names images",
             "    end",
             "end",
             "complete -c sampan -f"]
    for c in commands:
        text = COMMANDS[c][1] if c in COMMANDS else ("Help about any command" if c == "help"
                                                      else "Generate the autocompletion script for the specified shell")
        lines.append(f"complete -c sampan -n __fish_use_subcommand -a {q(c)} -d {q(text)}")
    for c, verbs in groups.items():
        lines.append(f"complete -c sampan -n {q(f'__fish_seen_subcommand_from {c}; and not __fish_seen_subcommand_from ' + ' '.join(verbs))} "
                     f"-a {q(' '.join(verbs))}")
    for s in all_specs:
        parts = s.key.split()
        cond = f"__fish_seen_subcommand_from {parts[0]}" + (f"; and __fish_seen_subcommand_from {parts[1]}"
                                                            if len(parts) > 1 else "")
        for flag in s.flags:
            opt = f"-l {flag[2:]}" if flag.startswith("--") else f"-s {flag[1:]}"
            lines.append(f"complete -c sampan -n {q(cond)} {opt}" + (" -r" if flag in s.valued else ""))
        kinds = {p.rstrip("+") for p in s.positionals}
        for kind in sorted(kinds):
            if kind.startswith("choices:"):
                lines.append(f"complete -c sampan -n {q(cond)} -a {q(kind[8:].replace(',', ' '))}")
            elif kind != "files":
                lines.append(f"complete -c sampan -n {q(cond)} -a {q(f'(__sampan_names {kind})')}")
    return "\n".join(lines) + "\n"


def main(command: str, argv: list[str], g) -> int:
    p = Parser("completion", "Generate the autocompletion script for the specified shell")
    p.add_argument("shell", choices=SHELLS, help="bash, zsh or fish")
    ns = p.parse_args(argv)
    sys.stdout.write({"bash": bash_script, "zsh": zsh_script, "fish": fish_script}[ns.shell]())
    return 0
