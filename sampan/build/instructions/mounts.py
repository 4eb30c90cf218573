"""`RUN --mount=...` (BuildKit's syntax): the text of one flag to a typed RunMount.

Parsed when the Dockerfile is (so a bad flag fails with its line before any step runs);
values keep their `$VAR`s, expanded by the step with the stage's ARGs and ENV.
Kinds: bind (default; read-only unless rw, writes discarded), cache (a directory kept
under the state root between builds), secret (a file from `build --secret`, present
only while the step runs), tmpfs. ssh needs an agent socket sampan does not forward.
"""

from __future__ import annotations

import csv
import posixpath
from dataclasses import dataclass, replace

_KINDS = ("bind", "cache", "secret", "tmpfs")
_BOOL_KEYS = {"readonly": True, "ro": True, "rw": False, "readwrite": False}
_KEYS = {"type", "target", "dst", "destination", "source", "src", "from", "id", "sharing", "mode",
         "uid", "gid", "required", "size", "env", *_BOOL_KEYS}
_ALLOWED = {
    "bind": {"target", "source", "from", "readonly"},
    "cache": {"target", "source", "from", "id", "sharing", "mode", "uid", "gid", "readonly"},
    "secret": {"target", "id", "mode", "uid", "gid", "required"},
    "tmpfs": {"target", "size"},
}
MAX_TMPFS = 1 << 40


class MountError(ValueError):
    pass


@dataclass(frozen=True)
class RunMount:
    kind: str
    target: str | None = None
    source: str | None = None
    from_: str | None = None
    id: str | None = None
    sharing: str = "shared"
    readonly: bool = False
    required: bool = False
    mode: str | None = None  # octal text until expanded
    uid: str | None = None
    gid: str | None = None
    size: str | None = None

    def expanded(self, word) -> "RunMount":
        """Every text value through `word` (the stage's variable expansion)."""
        fields = {k: (word(v) if isinstance(v, str) and "$" in v else v)
                  for k, v in self.__dict__.items() if k != "kind"}
        return _check(replace(self, **fields))

    def key(self) -> list:
        """What the step's cache key holds of it (never a secret's content)."""
        return [self.kind, self.target, self.source, self.from_, self.id, self.sharing,
                self.readonly, self.required, self.mode, self.uid, self.gid, self.size]


def parse_mount(text: str) -> RunMount:
    """One `--mount` value: comma-separated key=value fields (CSV quoting, as BuildKit)."""
    try:
        fields = next(csv.reader([text]))
    except (csv.Error, StopIteration):
        raise MountError(f"invalid mount {text!r}") from None
    values: dict[str, str] = {}
    flags: dict[str, bool] = {}
    for field in fields:
        key, eq, value = field.strip().partition("=")
        key = key.lower()
        if key not in _KEYS:
            raise MountError(f"unexpected key {key!r} in {field!r}")
        if key == "required" and not eq:
            values[key] = "true"
            continue
        if key in _BOOL_KEYS:
            flags[key] = _bool(key, value) if eq else True
            continue
        if not eq:
            raise MountError(f"invalid field {field!r}: it must be a key=value pair")
        key = {"dst": "target", "destination": "target", "src": "source"}.get(key, key)
        values[key] = value
    kind = values.pop("type", "bind").lower()
    if kind == "ssh":
        raise MountError("--mount=type=ssh needs an SSH agent, which sampan does not forward")
    if kind not in _KINDS:
        raise MountError(f"unsupported mount type {kind!r} (bind, cache, secret or tmpfs)")
    readonly = kind == "bind"
    for name, on in flags.items():
        readonly = on if _BOOL_KEYS[name] else not on
    if flags and "readonly" not in _ALLOWED[kind]:
        raise MountError(f"unexpected key {next(iter(flags))!r} for a {kind} mount")
    for key in values:
        if key not in _ALLOWED[kind]:
            raise MountError(f"unexpected key {key!r} for a {kind} mount")
    if kind == "cache" and (values.get("from") or values.get("source")):
        raise MountError("--mount=type=cache with from= or source= is not supported by sampan")
    required = values.pop("required", None)
    m = RunMount(kind, values.get("target"), values.get("source"), values.get("from"),
                 values.get("id"), values.get("sharing", "shared"), readonly,
                 _bool("required", required) if required is not None else False,
                 values.get("mode"), values.get("uid"), values.get("gid"), values.get("size"))
    return m if any("$" in (v or "") for v in values.values()) else _check(m)


def _bool(key: str, value: str) -> bool:
    v = value.lower()
    if v in ("", "true", "1"):
        return True
    if v in ("false", "0"):
        return False
    raise MountError(f"invalid value for {key}: {value!r} (true or false)")


def _number(key: str, value: str | None, base: int, limit: int) -> None:
    if value is None:
        return
    try:
        n = int(value, base)
    except ValueError:
        raise MountError(f"invalid {key} {value!r}") from None
    if not 0 <= n <= limit:
        raise MountError(f"invalid {key} {value!r}")


def _check(m: RunMount) -> RunMount:
    """The rules that need the values (after expansion): defaults filled in."""
    target = m.target
    if m.kind == "secret":
        if not m.id and not target:
            raise MountError("a secret mount needs id= or target=")
        ident = m.id or posixpath.basename((target or "").rstrip("/"))
        if not ident:
            raise MountError(f"invalid secret target {target!r}")
        target = target or f"/run/secrets/{ident}"
        m = replace(m, id=ident)
    if not target:
        raise MountError(f"a {m.kind} mount needs target=")
    if "\0" in target:
        raise MountError("invalid target")
    target = posixpath.normpath(posixpath.join("/", target))
    if target == "/":
        raise MountError("a mount cannot cover the root directory /")
    if m.sharing not in ("shared", "private", "locked"):
        raise MountError(f"unsupported sharing value {m.sharing!r} (shared, private or locked)")
    if m.kind == "cache" and not m.id:
        m = replace(m, id=target)
    _number("mode", m.mode, 8, 0o7777)
    _number("uid", m.uid, 10, 0xFFFFFFFE)
    _number("gid", m.gid, 10, 0xFFFFFFFE)
    if m.size is not None:
        from sampan.errors import InvalidArgument
        from sampan.specgen.units import parse_bytes
        try:
            if not 0 < parse_bytes(m.size, "size") <= MAX_TMPFS:
                raise ValueError
        except (ValueError, InvalidArgument):
            raise MountError(f"invalid tmpfs size {m.size!r}") from None
    return replace(m, target=target)
