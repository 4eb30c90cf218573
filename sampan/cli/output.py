"""Plain-text tables and sizes the way Docker prints them."""

from __future__ import annotations

import json
import sys


def table(headers: list[str], rows: list[list[str]], out=None) -> None:
    out = out or sys.stdout
    widths = [len(h) for h in headers]
    for r in rows:
        for i, cell in enumerate(r):
            widths[i] = max(widths[i], len(cell))
    lines = []
    for r in [headers] + rows:
        cells = [c.ljust(widths[i]) for i, c in enumerate(r)]
        lines.append("   ".join(cells).rstrip())
    out.write("\n".join(lines) + "\n")


def for_each(names, action) -> int:
    """Docker's habit for verbs on many objects: act on each, print what action returns,
    one line on stderr per failure, and exit 1 if any failed (the others still happen)."""
    from sampan.errors import SampanError

    code = 0
    for name in names:
        try:
            out = action(name)
            if out is not None:
                print(out)
        except SampanError as e:
            sys.stderr.write(f"sampan: {e.message}\n")
            code = 1
    return code


def report_items(reports, show=lambda r: r.ref, missing_ok: bool = False) -> int:
    """for_each for the engine's per-item reports (engine/reports.py: each has .error): print
    show(report) for each done (nothing when it returns None), one line on stderr per failure,
    and exit 1 if any failed. ``missing_ok`` (the removals' -f): an object that does not exist
    is no failure and says nothing, as in Docker since 20.10."""
    from sampan.errors import NotFound

    code = 0
    for r in reports:
        if missing_ok and isinstance(r.error, NotFound):
            continue
        if r.error is None:
            out = show(r)
            if out is not None:
                print(out)
        else:
            sys.stderr.write(f"sampan: {r.error.message}\n")
            code = 1
    return code


def show_objects(objs: list, fmt: str | None) -> None:
    """`inspect` output: a JSON array, or one template line per object with --format."""
    if fmt:
        for o in objs:
            print(format_template(fmt, o))
    else:
        print_json(objs)


def inspect_each(names, lookup, fmt: str | None) -> int:
    objs: list = []
    code = for_each(names, lambda n: objs.append(lookup(n)))
    show_objects(objs, fmt)
    return code


def human_size(n: float, digits: int = 4) -> str:
    """Docker's units.HumanSize: decimal units, 4 significant digits (HumanSizeWithPrecision
    with ``digits``: `ps -s` shows 3)."""
    return _scaled(n, 1000, ("B", "kB", "MB", "GB", "TB", "PB"), digits)


def binary_size(n: float) -> str:
    """Docker's units.BytesSize (memory in `stats`): 1024-based units."""
    return _scaled(n, 1024, ("B", "KiB", "MiB", "GiB", "TiB", "PiB"))


def _scaled(n: float, base: int, units: tuple[str, ...], digits: int = 4) -> str:
    for unit in units[:-1]:
        if abs(n) < base:
            return f"{n:.{digits}g}{unit}"
        n /= base
    return f"{n:.{digits}g}{units[-1]}"


def print_json(obj) -> None:
    sys.stdout.write(json.dumps(obj, indent=4) + "\n")


def format_template(fmt: str, obj: dict) -> str:
    """A small subset of Go templates: {{.Field}}, {{.A.B}}, {{json .X}}, and \\t."""
    import re

    def value(path: str):
        cur = obj
        for part in path.strip(".").split("."):
            if not part:
                continue
            cur = cur.get(part) if isinstance(cur, dict) else None
        return cur

    def sub(m: re.Match) -> str:
        expr = m.group(1).strip()
        if expr.startswith("json "):
            return json.dumps(value(expr[5:].strip()))
        v = value(expr)
        if isinstance(v, bool):
            return "true" if v else "false"
        if v is None:
            return "<no value>"
        if isinstance(v, (dict, list)):
            return json.dumps(v)
        return str(v)

    return re.sub(r"\{\{(.*?)\}\}", sub, fmt.replace("\\t", "\t").replace("\\n", "\n"))
