"""Plain-text tables and sizes the way Docker prints them; archives written to a file."""

from __future__ import annotations

import json
import os
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


def show_objects(objs: list, fmt: str | None) -> int:
    """`inspect` output: a JSON array, or one template line per object with --format (Go's
    text/template over the object's JSON; `json` is the compact array). Returns 1 when a
    template failed on an object (its error on stderr, the others still printed), as Docker."""
    if not fmt:
        print_json(objs)
        return 0
    from sampan.cli.gotemplate.docker import inspect_lines
    text, errors = inspect_lines(fmt, objs)
    sys.stdout.write(text)
    for e in errors:
        sys.stderr.write(f"sampan: {e}\n")
    return 1 if errors else 0


def inspect_each(names, lookup, fmt: str | None) -> int:
    objs: list = []
    code = for_each(names, lambda n: objs.append(lookup(n)))
    return show_objects(objs, fmt) or code


def write_formatted(fmt: str, contexts: list, kind) -> None:
    """A list command's --format: Docker's `table`/`json`/template over the formatter
    contexts of cli/formatters.py (kind: their class, for the table's column names)."""
    from sampan.cli.gotemplate.docker import render
    sys.stdout.write(render(kind.DEFAULT if fmt == "table" else fmt, contexts, kind.HEADER))


def human_size(n: float, precision: int = 4) -> str:
    """Docker's units.HumanSize: decimal units, 4 significant digits (HumanSizeWithPrecision
    for another precision: `images` and `history` show 3)."""
    return _scaled(n, 1000, ("B", "kB", "MB", "GB", "TB", "PB"), precision)


def binary_size(n: float) -> str:
    """Docker's units.BytesSize (memory in `stats`): 1024-based units."""
    return _scaled(n, 1024, ("B", "KiB", "MiB", "GiB", "TiB", "PiB"))


def _scaled(n: float, base: int, units: tuple[str, ...], precision: int = 4) -> str:
    for unit in units[:-1]:
        if abs(n) < base:
            return f"{n:.{precision}g}{unit}"
        n /= base
    return f"{n:.{precision}g}{units[-1]}"


def print_json(obj) -> None:
    sys.stdout.write(json.dumps(obj, indent=4) + "\n")


def format_template(fmt: str, obj) -> str:
    """One object (a dict of Docker's field names) through a Go template, a missing key
    being an error; for a list command prefer write_formatted and a formatter context."""
    from sampan.cli.gotemplate import TemplateExecError
    from sampan.cli.gotemplate.docker import parse
    from sampan.errors import SampanError
    try:
        return parse(fmt).execute(obj, missing_key_error=True)
    except TemplateExecError as e:
        raise SampanError(f"template parsing error: {e}", exit_code=1) from None


def write_file_whole(dest: str, write) -> None:
    """`write(f)` into dest whole or not at all: under a temporary name beside it, renamed
    at the end, so a failed `save -o`/`export -o`/`build -o` leaves no half archive."""
    tmp = f"{dest}.sampan-tmp-{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            write(f)
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
