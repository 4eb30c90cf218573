"""encoding/json's compact output, as Go writes it: map keys sorted, struct fields in order,
`<>&` escaped only where json.Marshal runs with HTML escaping, shortest float forms."""

from __future__ import annotations

import math

from sampan.cli.gotemplate.gofmt import GoStruct, _digits, _exp, _fixed, go_float


def _json_str(s: str, escape_html: bool) -> str:
    out = ['"']
    for c in s:
        o = ord(c)
        if c == '"':
            out.append('\\"')
        elif c == "\\":
            out.append("\\\\")
        elif o < 0x20:
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}.get(c, f"\\u{o:04x}"))
        elif escape_html and c in "<>&":
            out.append(f"\\u{o:04x}")
        elif o in (0x2028, 0x2029):
            out.append(f"\\u{o:04x}")
        elif 0xD800 <= o <= 0xDFFF:
            out.append("\\ufffd")
        else:
            out.append(c)
    return "".join(out) + '"'


def _json_float(f: float) -> str:
    if math.isnan(f) or math.isinf(f):
        raise ValueError(f"json: unsupported value: {go_float(f)}")
    if f == 0:
        return "-0" if math.copysign(1, f) < 0 else "0"
    ds, dp = _digits(f)
    a = abs(f)
    if a < 1e-6 or a >= 1e21:
        s = _exp(ds, dp, f < 0)
        mant, e = s.split("e")
        return f"{mant}e{e[0] if e[0] == '-' else ''}{int(e[1:])}" if e[0] == "-" else f"{mant}e+{int(e[1:])}"
    return ("-" if f < 0 else "") + _fixed(ds, dp)


def go_json(v, escape_html: bool = False) -> str:
    """encoding/json's compact encoding (Docker's `json` function turns HTML escaping off;
    its formatter objects' MarshalJSON keeps it on)."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return _json_float(v)
    if isinstance(v, str):
        return _json_str(v, escape_html)
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(go_json(x, escape_html) for x in v) + "]"
    if isinstance(v, dict):
        return _json_object(v, escape_html, True)
    if isinstance(v, GoStruct):
        value, escape = v.go_json_value(), escape_html or v.JSON_ESCAPE_HTML
        return _json_object(value, escape, v.JSON_SORTED) if isinstance(value, dict) else go_json(value, escape)
    return _json_str(str(v), escape_html)


def _json_object(d: dict, escape_html: bool, sort: bool) -> str:
    keys = sorted(d, key=str) if sort else list(d)
    return "{" + ",".join(f"{_json_str(str(k), escape_html)}:{go_json(d[k], escape_html)}" for k in keys) + "}"
