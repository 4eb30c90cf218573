"""The docker CLI's --format conventions over Go templates (cli/command/formatter):
`table ...` prints a header row made from the column names and aligns the columns as
Docker's tabwriter does; `json` is one JSON object per line; `\\t` and `\\n` typed
literally are a tab and a newline. Errors are one line, as Docker words them."""

from __future__ import annotations

from sampan.cli.gotemplate import Template, TemplateExecError, TemplateSyntaxError
from sampan.errors import SampanError


class Header(dict):
    """Docker's SubHeaderContext: the column names of a table, and `.Label "key"`'s header."""

    def _label(self, name: str) -> str:
        return name.split(".")[-1].replace("-", " ").replace("_", " ")

    @property
    def GO_METHODS(self):
        from sampan.cli.gotemplate.execute import Func
        return {"Label": Func(self._label, ("string",))}


def template_text(fmt: str) -> str:
    """Docker's Format.templateString: drop `table`, trim spaces, turn \\t and \\n into tabs and newlines."""
    if fmt == "table":
        return ""
    if fmt == "json":
        return "{{json .}}"
    if fmt.startswith("table"):
        fmt = fmt[5:]
    return fmt.strip(" ").replace("\\t", "\t").replace("\\n", "\n")


def parse(fmt: str, prefix: str = "template parsing error: ", code: int = 1, name: str = "",
          raw: bool = False) -> Template:
    """The format as a template (raw: as given, as `info` and `version` take it)."""
    try:
        return Template(fmt if raw else template_text(fmt), name)
    except TemplateSyntaxError as e:
        raise SampanError(f"{prefix}{e}", exit_code=code) from None


def render(fmt: str, rows: list, header: dict | None = None, code: int = 1) -> str:
    """All rows through the format, as Docker prints them (nothing when any row fails)."""
    from sampan.cli.gotemplate.funcs import HEADER_FUNCS
    from sampan.cli.gotemplate.tabwriter import align

    tmpl = parse(fmt, code=code)
    out = []
    for r in rows:
        try:
            out.append(tmpl.execute(r) + "\n")
        except TemplateExecError as e:
            raise SampanError(f"template parsing error: {e}", exit_code=code) from None
    if not fmt.startswith("table"):
        return "".join(out)
    try:
        head = tmpl.execute(Header(header or {}), funcs=HEADER_FUNCS)
    except TemplateExecError:
        head = ""  # Docker ignores a header that fails to render
    return align(head + "\n" + "".join(out))


def write(fmt: str, rows: list, header: dict | None = None, code: int = 1) -> None:
    import sys
    sys.stdout.write(render(fmt, rows, header, code))


def inspect_lines(fmt: str, objs: list) -> tuple[str, list[str]]:
    """`inspect -f`: the template over each object's JSON as a map (Docker's raw fallback:
    a missing key is an error); `json` is the compact JSON array. Returns the text and one
    error per object the template failed on. Bad syntax: exit 64, as Docker."""
    from sampan.cli.gotemplate import go_json
    if fmt == "json":
        return go_json(objs, escape_html=True) + "\n", []
    tmpl = parse(fmt, code=64)
    out, errors = [], []
    for o in objs:
        try:
            out.append(tmpl.execute(o, missing_key_error=True) + "\n")
        except TemplateExecError as e:
            errors.append(f"template parsing error: {e}")
    return "".join(out) or "\n", errors
