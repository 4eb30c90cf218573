"""argparse with Docker's manners: bad flags exit 125 with one line and a pointer to --help."""

from __future__ import annotations

import argparse

from sampan.errors import InvalidArgument


class Parser(argparse.ArgumentParser):
    def __init__(self, command: str, description: str = "", **kw):
        kw.setdefault("add_help", False)
        super().__init__(prog=f"sampan {command}", description=description, **kw)
        self.command = command

    def parse_args(self, args=None, namespace=None):
        # Docker uses -h for --hostname in run/create: offer -h for help only where it is free.
        if "--help" not in self._option_string_actions:
            flags = ["--help"] if "-h" in self._option_string_actions else ["-h", "--help"]
            self.add_argument(*flags, action="help", help="Show this help")
        return super().parse_args(args, namespace)

    def error(self, message: str):
        raise InvalidArgument(f"{message}\nSee 'sampan {self.command} --help'.")


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
