"""sampan's global options (--root, --runroot, --runtime, --debug, --explain), parsed before the
command's name: by the client, in-process, and by the zygote when it looks for the root
whose database its keeper holds. Builtins only: the client imports it."""

from __future__ import annotations

import os


class Globals:
    def __init__(self) -> None:
        self.root: str | None = None
        self.runroot: str | None = None
        self.runtime: str | None = None
        self.debug = bool(os.environ.get("SAMPAN_DEBUG"))
        self.explain = False

    def engine(self, need_root: bool = True):
        """Every command that touches state comes here (help and version never do)."""
        if need_root and os.geteuid() != 0:
            from sampan.errors import PermissionDenied
            raise PermissionDenied("permission denied: sampan needs root (containers are made "
                                   "of namespaces, mounts and cgroups, and its state is root's "
                                   "alone): run it with sudo")
        from sampan.engine import Engine
        return Engine(self.root, self.runroot, self.runtime)

    def set(self, name: str, value: str) -> None:
        if name == "root":
            self.root = value
        elif name == "runroot":
            self.runroot = value
        else:
            self.runtime = value


def parse_globals(argv: list[str]) -> tuple[Globals, list[str]]:
    """The global options at the head of argv, and the rest (the command and its args)."""
    g = Globals()
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("--root", "--runroot", "--runtime") and i + 1 < len(argv):
            g.set(a[2:], argv[i + 1])
            i += 2
        elif a.startswith(("--root=", "--runroot=", "--runtime=")):
            k, v = a[2:].split("=", 1)
            g.set(k, v)
            i += 1
        elif a == "--debug":
            g.debug = True
            i += 1
        elif a == "--explain":
            g.explain = True
            i += 1
        else:
            break
    return g, argv[i:]
