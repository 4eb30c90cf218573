"""Values printed as Go prints them: fmt's %v (maps sorted, `[a b]`, `<nil>`), Printf's verbs
and its error forms (`%!d(string=x)`), strconv.Quote; and GoStruct, a Go struct's face."""

from __future__ import annotations

import math
from decimal import Decimal

TYPE_CHECKING = False  # `typing` is not otherwise imported for a --format
if TYPE_CHECKING:
    from typing import Callable


class GoStruct:
    """A Go struct as a template sees it: named fields and methods; an unknown name is an error.

    Subclasses list their fields in FIELDS (names of zero-argument methods or attributes);
    methods taking arguments (`.Label "key"`) are ordinary methods named in METHODS."""

    GO_TYPE = "struct"
    FIELDS: tuple[str, ...] = ()
    METHODS: tuple[str, ...] = ()
    JSON_ESCAPE_HTML = True  # the docker CLI's contexts marshal themselves with json.Marshal
    JSON_SORTED = True  # ... as a map (sorted keys); a plain struct keeps its fields' order

    def go_fields(self) -> dict:
        return {f: self.go_field(f) for f in self.FIELDS}

    def go_json_value(self):
        return self.go_fields()

    def go_field(self, name: str):
        v = getattr(self, name)
        return v() if callable(v) else v


def go_type(v) -> str:
    """The Go type name fmt shows in its error forms."""
    if v is None:
        return "<nil>"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float64"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "[]interface {}"
    if isinstance(v, dict):
        return "map[string]interface {}"
    if isinstance(v, GoStruct):
        return v.GO_TYPE
    return type(v).__name__


def go_quote(s: str, ascii_only: bool = False) -> str:
    """strconv.Quote: Go escapes, non-printable runes as \\x, \\u or \\U (QuoteToASCII: all
    non-ASCII runes too)."""
    out = ['"']
    for c in s:
        o = ord(c)
        if c == '"' or c == "\\":
            out.append("\\" + c)
        elif c == "\n":
            out.append("\\n")
        elif c == "\t":
            out.append("\\t")
        elif c == "\r":
            out.append("\\r")
        elif c == "\a":
            out.append("\\a")
        elif c == "\b":
            out.append("\\b")
        elif c == "\f":
            out.append("\\f")
        elif c == "\v":
            out.append("\\v")
        elif (c.isprintable() or c == " ") and not (ascii_only and o >= 0x80):
            out.append(c)
        elif o < 0x80:
            out.append(f"\\x{o:02x}")
        elif o == 0xFFFD or 0xD800 <= o <= 0xDFFF:
            out.append("\\ufffd")
        elif o < 0x10000:
            out.append(f"\\u{o:04x}")
        else:
            out.append(f"\\U{o:08x}")
    return "".join(out) + '"'


def _digits(f: float) -> tuple[str, int]:
    """The shortest decimal digits that read back as f, and the decimal point's position."""
    t = Decimal(repr(abs(f))).normalize().as_tuple()
    ds = "".join(map(str, t.digits)) or "0"
    return ds, len(ds) + int(t.exponent)  # finite here: the callers print inf and nan themselves


def _exp(ds: str, dp: int, neg: bool) -> str:
    mant = ds[0] + ("." + ds[1:] if len(ds) > 1 else "")
    e = dp - 1
    return f"{'-' if neg else ''}{mant}e{'-' if e < 0 else '+'}{abs(e):02d}"


def go_float(f: float) -> str:
    """strconv.FormatFloat(f, 'g', -1, 64), as %v prints a float64."""
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    if f == 0:
        return "-0" if math.copysign(1, f) < 0 else "0"
    ds, dp = _digits(f)
    neg = f < 0
    if dp - 1 < -4 or dp - 1 >= 6:  # shortest digits: Go decides with precision 6
        return _exp(ds, dp, neg)
    return ("-" if neg else "") + _fixed(ds, dp)


def _fixed(ds: str, dp: int) -> str:
    if dp <= 0:
        return "0." + "0" * -dp + ds
    if dp >= len(ds):
        return ds + "0" * (dp - len(ds))
    return ds[:dp] + "." + ds[dp:]


def go_print(v, top: bool = False) -> str:
    """fmt's %v of a value (top: the value a template action prints, where nil is <no value>)."""
    if v is None:
        return "<no value>" if top else "<nil>"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return go_float(v)
    if isinstance(v, str):
        return v
    if isinstance(v, list):
        return "[" + " ".join(go_print(x) for x in v) + "]"
    if isinstance(v, dict):
        return "map[" + " ".join(f"{go_print(k)}:{go_print(v[k])}" for k in sorted_keys(v)) + "]"
    if isinstance(v, GoStruct):
        return ("&" if top else "") + "{" + " ".join(go_print(x) for x in v.go_fields().values()) + "}"
    return str(v)


def sorted_keys(d: dict) -> list:
    return sorted(d, key=lambda k: (not isinstance(k, (int, float)), k if isinstance(k, (int, float)) else str(k)))


# --- Printf ---

def _pad(s: str, width: int | None, minus: bool, zero: bool = False) -> str:
    if width is None or len(s) >= width:
        return s
    if minus:
        return s + " " * (width - len(s))
    if zero:
        sign = s[0] if s[:1] in "+-" else ""
        return sign + "0" * (width - len(s)) + s[len(sign):]
    return " " * (width - len(s)) + s


def _bad(verb: str, v) -> str:
    if v is None:
        return f"%!{verb}(<nil>)"
    return f"%!{verb}({go_type(v)}={go_print(v)})"


def _int_verb(verb: str, n: int, flags: str, prec: int | None) -> str:
    neg, a = n < 0, abs(n)
    if verb == "c":
        return chr(a) if 0 <= n < 0x110000 else "\ufffd"
    if verb == "q":
        return "'" + go_quote(chr(n))[1:-1].replace("\\\"", '"').replace("'", "\\'") + "'"
    if verb == "U":
        s = f"U+{a:04X}"
        return s + (f" '{chr(a)}'" if "#" in flags and chr(a).isprintable() else "")
    convert: dict[str, Callable[[int], str]] = {
        "d": str, "v": str, "x": lambda x: f"{x:x}", "X": lambda x: f"{x:X}", "o": lambda x: f"{x:o}",
        "O": lambda x: f"{x:o}", "b": lambda x: f"{x:b}"}
    body = convert[verb](a)
    if prec is not None:
        body = body.rjust(prec, "0") if prec or a else ""
    if "#" in flags:
        body = {"x": "0x", "X": "0X", "o": "0", "b": "0b"}.get(verb, "") + body
    if verb == "O":
        body = "0o" + body
    sign = "-" if neg else ("+" if "+" in flags else (" " if " " in flags else ""))
    return sign + body


def _float_verb(verb: str, f: float, flags: str, prec: int | None) -> str:
    if math.isnan(f) or math.isinf(f):
        s = go_float(f)
        return s if not ("+" in flags and f > 0) else s
    if verb in "vgG" and prec is None:
        s = go_float(f)
        s = s.upper() if verb == "G" else s
    else:
        p = 6 if prec is None else prec
        py = {"v": "g", "F": "f"}.get(verb, verb)
        s = f"{f:.{p}{py}}"
        if py in "eE" or (py in "gG" and ("e" in s or "E" in s)):
            mant, _, e = s.partition("e" if "e" in s else "E")
            s = f"{mant}{'e' if py in 'eg' else 'E'}{e[0]}{int(e[1:]):02d}"
    if "+" in flags and not s.startswith("-"):
        s = "+" + s
    elif " " in flags and not s.startswith("-"):
        s = " " + s
    return s


def _fmt_one(verb: str, v, flags: str, width: int | None, prec: int | None, inner: bool = False) -> str:
    minus, zero = "-" in flags, "0" in flags and "-" not in flags
    if verb == "T":
        return _pad(go_type(v), width, minus)
    if v is None:
        return _pad("<nil>", width, minus) if verb == "v" or inner else _bad(verb, v)
    if isinstance(v, bool):
        if verb in "vt":
            return _pad("true" if v else "false", width, minus)
        return _bad(verb, v)
    if isinstance(v, int):
        if verb in "dvxXobcqUO":
            return _pad(_int_verb(verb, v, flags, prec), width, minus, zero and prec is None and verb not in "cqU")
        return _bad(verb, v)
    if isinstance(v, float):
        if verb in "veEfFgG":
            return _pad(_float_verb(verb, v, flags, prec), width, minus, zero)
        return _bad(verb, v)
    if isinstance(v, str):
        if verb == "v" and "#" in flags:
            s = go_quote(v)
        elif verb in "sv":
            s = v if prec is None else v[:prec]
        elif verb == "q":
            s = go_quote(v if prec is None else v[:prec], ascii_only="+" in flags)
            if "#" in flags and "`" not in v and all(c.isprintable() for c in v):
                s = "`" + v + "`"
        elif verb in "xX":
            b = v.encode("utf-8", "surrogateescape")
            if prec is not None:
                b = b[:prec]
            s = b.hex() if verb == "x" else b.hex().upper()
            if " " in flags:
                s = " ".join(s[i:i + 2] for i in range(0, len(s), 2))
            if "#" in flags:
                s = ("0x" if verb == "x" else "0X") + s
        else:
            return _bad(verb, v)
        return _pad(s, width, minus, zero)
    if isinstance(v, list):
        return _pad("[" + " ".join(_fmt_one(verb, x, flags, None, prec, True) for x in v) + "]", width, minus)
    if isinstance(v, dict):
        return _pad("map[" + " ".join(f"{_fmt_one(verb, k, flags, None, prec, True)}:"
                                      f"{_fmt_one(verb, v[k], flags, None, prec, True)}"
                                      for k in sorted_keys(v)) + "]", width, minus)
    return _pad(go_print(v), width, minus)


def sprintf(fmt: str, args: list) -> str:
    out, i, n, a = [], 0, len(fmt), 0
    while i < n:
        c = fmt[i]
        if c != "%":
            j = fmt.find("%", i)
            j = n if j < 0 else j
            out.append(fmt[i:j])
            i = j
            continue
        i += 1
        flags = ""
        while i < n and fmt[i] in "+-# 0":
            flags += fmt[i]
            i += 1
        width = prec = None
        if i < n and fmt[i] == "*":
            i += 1
            if a < len(args) and isinstance(args[a], int) and not isinstance(args[a], bool) \
                    and abs(args[a]) <= 1_000_000:  # Go's tooLarge
                width = args[a]
                if width < 0:
                    flags, width = flags + "-", -width
            else:
                out.append("%!(BADWIDTH)")
            a += 1
        else:
            j = i
            while i < n and fmt[i].isdigit():
                i += 1
            width = int(fmt[j:i]) if i > j else None
        if i < n and fmt[i] == ".":
            i += 1
            if i < n and fmt[i] == "*":
                i += 1
                if a < len(args) and isinstance(args[a], int) and not isinstance(args[a], bool) \
                        and abs(args[a]) <= 1_000_000:
                    prec = args[a] if args[a] >= 0 else None
                else:
                    out.append("%!(BADPREC)")
                a += 1
            else:
                j = i
                while i < n and fmt[i].isdigit():
                    i += 1
                prec = int(fmt[j:i]) if i > j else 0
        if i >= n:
            out.append("%!(NOVERB)")
            break
        verb = fmt[i]
        i += 1
        if verb == "%":
            out.append("%")
            continue
        if a >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        out.append(_fmt_one(verb, args[a], flags, width, prec))
        a += 1
    if a < len(args):
        out.append("%!(EXTRA " + ", ".join("<nil>" if x is None else f"{go_type(x)}={go_print(x)}"
                                          for x in args[a:]) + ")")
    return "".join(out)


def sprint(args: list) -> str:
    """fmt.Sprint: a space between two operands when neither is a string."""
    out = []
    for i, x in enumerate(args):
        if i > 0 and not isinstance(x, str) and not isinstance(args[i - 1], str):
            out.append(" ")
        out.append(go_print(x))
    return "".join(out)


def sprintln(args: list) -> str:
    return " ".join(go_print(x) for x in args) + "\n"
