"""Template functions: Go's builtins (and, or, eq, index, len, printf, ...) and the ones the
docker CLI adds (json, join, split, lower, upper, title, pad, truncate), with their Go
signatures so that a wrong argument is Go's error. HEADER_FUNCS are docker's stand-ins used
when a `table` format's header row is made from the column names."""

from __future__ import annotations

from urllib.parse import quote_plus

from sampan.cli.gotemplate.execute import MISSING, Func, FuncError, is_true
from sampan.cli.gotemplate.gofmt import go_print, go_type, sprint, sprintf, sprintln
from sampan.cli.gotemplate.gojson import go_json


def _and(*thunks):
    v = None
    for t in thunks:
        v = t()
        if not is_true(v):
            return v
    return v


def _or(*thunks):
    v = None
    for t in thunks:
        v = t()
        if is_true(v):
            return v
    return v


def _kind(v) -> str:
    if v is None or v is MISSING:
        return "invalid"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "int" if isinstance(v, int) else "float"
    if isinstance(v, str):
        return "string"
    return "other"


def _eq(a, *rest):
    if not rest:
        raise FuncError("missing argument for comparison")
    ka = _kind(a)
    for b in rest:
        kb = _kind(b)
        if ka != kb:
            if ka != "invalid" and kb != "invalid":
                raise FuncError("incompatible types for comparison")
            truth = False
        elif ka == "other":
            if isinstance(a, (list, dict)) or isinstance(b, (list, dict)):
                raise FuncError(f"non-comparable type {go_print(a)}: {go_type(a)}")
            truth = a is b
        elif ka == "invalid":
            truth = True
        else:
            truth = a == b
        if truth:
            return True
    return False


def _ne(a, b):
    return not _eq(a, b)


def _lt(a, b):
    ka, kb = _kind(a), _kind(b)
    if ka not in ("int", "float", "string"):
        raise FuncError("invalid type for comparison")
    if ka != kb:
        raise FuncError("incompatible types for comparison")
    return a < b


def _le(a, b):
    return _lt(a, b) or _eq(a, b)


def _gt(a, b):
    return not _le(a, b)


def _ge(a, b):
    return not _lt(a, b)


def _len(v):
    if v is None:
        raise FuncError("len of nil pointer")
    if isinstance(v, str):
        return len(v.encode())
    if isinstance(v, (list, dict)):
        return len(v)
    raise FuncError(f"len of type {go_type(v)}")


def _index(item, *keys):
    if item is None:
        raise FuncError("index of untyped nil")
    for k in keys:
        if isinstance(item, (list, str)):
            if not isinstance(k, int) or isinstance(k, bool):
                raise FuncError(f"cannot index slice/array with type {go_type(k)}")
            seq = item.encode() if isinstance(item, str) else item
            if not 0 <= k < len(seq):
                raise FuncError(f"index out of range: {k}")
            item = seq[k]
        elif isinstance(item, dict):
            if k is None:
                raise FuncError("value is nil; should be of type string")
            if not isinstance(k, str):
                raise FuncError(f"value has type {go_type(k)}; should be string")
            if k in item:
                item = item[k]
            else:  # Go gives the element type's zero value: "" for a map of strings
                item = "" if all(isinstance(x, str) for x in item.values()) else None
        elif item is None:
            raise FuncError("index of nil pointer")
        else:
            raise FuncError(f"can't index item of type {go_type(item)}")
    return item


def _slice(item, *idx):
    if item is None:
        raise FuncError("slice of untyped nil")
    if not isinstance(item, (list, str)):
        raise FuncError(f"can't slice item of type {go_type(item)}")
    if len(idx) > 3 or (len(idx) == 3 and isinstance(item, str)):
        raise FuncError("too many slice indexes: %d" % len(idx))
    seq = item.encode() if isinstance(item, str) else item
    bounds = [0, len(seq)]
    for i, x in enumerate(idx[:2]):
        if not 0 <= x <= len(seq):
            raise FuncError(f"index out of range: {x}")
        bounds[i] = x
    if bounds[0] > bounds[1]:
        raise FuncError(f"invalid slice index: {bounds[0]} > {bounds[1]}")
    out = seq[bounds[0]:bounds[1]]
    return out.decode(errors="replace") if isinstance(item, str) else out


def _html(*args):
    s = sprint(list(args))
    return (s.replace("&", "&amp;").replace("'", "&#39;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&#34;").replace("\0", "\uFFFD"))


def _js(*args):
    s = sprint(list(args))
    out = []
    for c in s:
        if c in "\\'\"":
            out.append("\\" + c)
        elif c in "<>&=":
            out.append(f"\\u{ord(c):04X}")
        elif ord(c) < 0x20:
            out.append(f"\\u{ord(c):04X}")
        else:
            out.append(c)
    return "".join(out)


def _urlquery(*args):
    return quote_plus(sprint(list(args)), safe="")


def _call(*args):
    raise FuncError("sampan's templates have no function values to call")


def _json(v):
    try:
        return go_json(v, escape_html=False)
    except ValueError as e:
        raise FuncError(str(e)) from None


def _split(s, sep):
    if sep == "":
        return list(s)
    return s.split(sep)


def _join(elems, sep):
    if elems is None:
        return ""
    if isinstance(elems, list):
        return sep.join(go_print(x) for x in elems)
    if isinstance(elems, dict):
        return sep.join(sorted(go_print(x) for x in elems.values()))
    raise FuncError(f"expected slice, got {go_type(elems)}")


def _title(s):
    """strings.Title: the first letter of each word in upper case."""
    out, prev = [], " "
    for c in s:
        sep = not (c.isalnum() or c == "_") if ord(c) < 0x80 else not (c.isalpha() or c.isdigit()) and c.isspace()
        psep = not (prev.isalnum() or prev == "_") if ord(prev) < 0x80 else prev.isspace()
        out.append(c.upper() if psep and not sep else c)
        prev = c
    return "".join(out)


def _pad(s, prefix, suffix):
    return s if s == "" else " " * prefix + s + " " * suffix


def _truncate(s, n):
    b = s.encode()
    return s if len(b) < n else b[:max(n, 0)].decode(errors="replace")


FUNCS = {
    "and": Func(_and, ("any",), "any", lazy=True),
    "or": Func(_or, ("any",), "any", lazy=True),
    "not": Func(lambda v: not is_true(v), ("any",)),
    "len": Func(_len, ("any",)),
    "index": Func(_index, ("any",), "any"),
    "slice": Func(_slice, ("any",), "int"),
    "print": Func(lambda *a: sprint(list(a)), (), "any"),
    "printf": Func(lambda f, *a: sprintf(f, list(a)), ("string",), "any"),
    "println": Func(lambda *a: sprintln(list(a)), (), "any"),
    "eq": Func(_eq, ("any",), "any"),
    "ne": Func(_ne, ("any", "any")),
    "lt": Func(_lt, ("any", "any")),
    "le": Func(_le, ("any", "any")),
    "gt": Func(_gt, ("any", "any")),
    "ge": Func(_ge, ("any", "any")),
    "html": Func(_html, (), "any"),
    "js": Func(_js, (), "any"),
    "urlquery": Func(_urlquery, (), "any"),
    "call": Func(_call, ("any",), "any"),
    # the docker CLI's (templates/templates.go)
    "json": Func(_json, ("any",)),
    "split": Func(_split, ("string", "string")),
    "join": Func(_join, ("any", "string")),
    "title": Func(_title, ("string",)),
    "lower": Func(str.lower, ("string",)),
    "upper": Func(str.upper, ("string",)),
    "pad": Func(_pad, ("string", "int", "int")),
    "truncate": Func(_truncate, ("string", "int")),
}

_same = (lambda v, *_: v)
HEADER_FUNCS = {**FUNCS,
                "json": Func(_same, ("string",)), "split": Func(_same, ("string", "string")),
                "join": Func(_same, ("string", "string")), "title": Func(_same, ("string",)),
                "lower": Func(_same, ("string",)), "upper": Func(_same, ("string",)),
                "truncate": Func(_same, ("string", "int"))}
