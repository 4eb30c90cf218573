"""argparse with Docker's manners: bad flags exit 125 with one line and a pointer to --help."""

from __future__ import annotations

import argparse

from sampan.errors import InvalidArgument


class Captured(Exception):
    """Raised instead of parsing while `capturing` is set: the command's whole parser, for
    `sampan completion` (cli/commands/completion.py) to read its flags without running it."""

    def __init__(self, parser: "Parser") -> None:
        super().__init__(parser.command)
        self.parser = parser


capturing = False


class Parser(argparse.ArgumentParser):
    def __init__(self, command: str, description: str = "", **kw):
        kw.setdefault("add_help", False)
        kw.setdefault("allow_abbrev", False)  # Docker takes no prefix of a flag: --entr is not --entrypoint
        super().__init__(prog=f"sampan {command}", description=description, **kw)
        self.command = command

    def parse_args(self, args=None, namespace=None):
        # Docker uses -h for --hostname in run/create: offer -h for help only where it is free.
        if "--help" not in self._option_string_actions:
            flags = ["--help"] if "-h" in self._option_string_actions else ["-h", "--help"]
            self.add_argument(*flags, action="help", help="Show this help")
        if capturing:
            raise Captured(self)
        ns, extra = self.parse_known_args(args, namespace)
        if extra:
            if not self._get_positional_actions() and not any(a.startswith("-") for a in extra):
                self.error(f'"sampan {self.command}" accepts no arguments.')
            self.error(unknown_argument(extra))
        return ns

    def error(self, message: str):
        raise InvalidArgument(f"{message}\nSee 'sampan {self.command} --help'.")


def unknown_argument(extra: list[str]) -> str:
    """Docker's (cobra's) words for what argparse could not place: the flag itself, never
    its value."""
    flags = [a for a in extra if a.startswith("-") and a != "-"]
    if not flags:
        return f"unexpected argument: {extra[0]}"
    flag = flags[0]
    if flag.startswith("--"):
        return f"unknown flag: {flag.partition('=')[0]}"
    return f"unknown shorthand flag: {flag[1]!r} in {flag}"


def int64(text: str) -> int:
    """argparse type for Docker's integer flags (Go int64s): a clear error past them."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid whole number: {text[:40]!r}") from None
    if not -2**63 <= n < 2**63:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is out of range")
    return n


def key_values(items: list[str] | None, what: str) -> dict[str, str]:
    out = {}
    for item in items or []:
        k, sep, v = item.partition("=")
        if not k:
            raise InvalidArgument(f"invalid {what} {item!r}: expected KEY=VALUE")
        out[k] = v
    return out
