"""Go's encoding/json Indent and Compact over JSON text (what `docker manifest inspect`
prints: a registry's manifest bytes re-indented, keys in their order, strings as sent;
MarshalIndent also escapes <, > and & inside strings)."""

from __future__ import annotations

_WS = " \t\r\n"


def indent(text: str, step: str | None, escape_html: bool = False) -> str:
    """Re-indent valid JSON as Go does (``step`` None: compact). Empty {} and [] stay on one line."""
    out: list[str] = []
    depth = 0
    need_indent = False
    i, n = 0, len(text)

    def newline() -> None:
        if step is not None:
            out.append("\n" + step * depth)

    while i < n:
        c = text[i]
        if c in _WS:
            i += 1
            continue
        if c == '"':
            j = i + 1
            while text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            s = text[i:j + 1]
            if escape_html:
                s = s.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            s = s.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
            if need_indent:
                need_indent = False
                newline()
            out.append(s)
            i = j + 1
            continue
        if need_indent and c not in "]}":
            need_indent = False
            newline()
        if c in "{[":
            out.append(c)
            depth += 1
            need_indent = True
        elif c in "}]":
            if need_indent:  # empty: suppress the newline
                need_indent = False
                depth -= 1
            else:
                depth -= 1
                newline()
            out.append(c)
        elif c == ",":
            out.append(c)
            newline()
        elif c == ":":
            out.append(": " if step is not None else ":")
        else:
            out.append(c)
        i += 1
    return "".join(out)
