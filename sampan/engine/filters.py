"""`--filter` for ps, images, volume ls and network ls: parsed and checked here, once,
for the CLI (`-f key=value`, repeated) and the API server (Docker's `filters` query
parameter, a JSON map ``{"key": ["value", ...]}``; older clients send ``{"key": {"value": true}}``).

Docker's rules: values of one key are alternatives (any matches); different keys must
all match. Labels are the exception: every ``label=`` given must match.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

from sampan.errors import InvalidArgument


def parse(filters, allowed: tuple[str, ...], what: str) -> dict[str, list[str]]:
    """A normalised ``{key: [values]}`` from a list of "key=value" or a Docker filter map."""
    out: dict[str, list[str]] = {}
    if not filters:
        return out
    if isinstance(filters, dict):
        items = []
        for key, values in filters.items():
            if isinstance(values, dict):  # API < 1.22 style: {"value": true}
                values = [v for v, on in values.items() if on]
            elif isinstance(values, str):
                values = [values]
            elif not isinstance(values, list):  # a client's JSON: only lists and maps mean anything
                raise InvalidArgument(f"invalid filter '{str(key)[:100]}': expected a list of strings")
            items += [(str(key), str(v)) for v in values]
    else:
        items = []
        for f in filters:
            if not isinstance(f, str):
                raise InvalidArgument("invalid filters: expected a JSON object of lists")
            key, sep, value = f.partition("=")
            if not sep:
                raise InvalidArgument(f'invalid argument "{f[:100]}" for "--filter" flag: bad format of filter '
                                      f"(expected name=value; {what} supports {', '.join(k + '=' for k in allowed)})")
            items.append((key, value))
    for key, value in items:
        if key not in allowed:  # Docker's words first ("invalid filter 'bogus'"), then the choices
            raise InvalidArgument(f"invalid filter '{key[:100]}': {what} supports "
                                  f"{', '.join(k + '=' for k in allowed)}")
        out.setdefault(key, []).append(value)
    return out


def boolean(want: dict[str, list[str]], key: str) -> bool | None:
    """A true/false filter such as dangling=: None when absent; one value only."""
    values = want.get(key)
    if not values:
        return None
    flags = {v.lower() for v in values}
    if not flags <= {"true", "false", "1", "0"} or len(flags) > 1:
        raise InvalidArgument(f"invalid filter '{key}={values[0]}': {key} is true or false")
    return flags.pop() in ("true", "1")


def labels_match(labels: dict[str, str] | None, wanted: list[str]) -> bool:
    """Every ``label=KEY`` or ``label=KEY=VALUE`` matches (Docker: all labels, not any)."""
    labels = labels or {}
    for want in wanted:
        k, sep, v = want.partition("=")
        if k not in labels or (sep and labels[k] != v):
            return False
    return True


def any_substring(value: str, wanted: list[str]) -> bool:
    return any(w in value for w in wanted)


def any_prefix(value: str, wanted: list[str]) -> bool:
    return any(value.startswith(w) for w in wanted)


def reference_match(tags: list[str], wanted: list[str]) -> bool:
    """Docker's `reference=` on images: a glob over REPO or REPO:TAG (familiar names)."""
    for tag in tags:
        repo = tag.rpartition(":")[0] if ":" in tag.rpartition("/")[2] else tag
        for w in wanted:
            if fnmatchcase(tag, w) or fnmatchcase(repo, w):
                return True
    return False


def port_set(values: list[str], key: str) -> set[str]:
    """Docker's port filters (ps publish=, expose=): PORT, PORT/PROTO or FIRST-LAST[/PROTO],
    as the set of "port/proto" they name (tcp when no protocol is given)."""
    out: set[str] = set()
    for value in values:
        if ":" in value:
            raise InvalidArgument(f"filter for '{key}' should not contain ':': {value[:100]}")
        ports, _, proto = value.partition("/")
        first, _, last = ports.partition("-")
        proto = proto or "tcp"
        if (not first.isdigit() or (last and not last.isdigit()) or proto not in ("tcp", "udp", "sctp")
                or not 0 < int(first) <= int(last or first) <= 65535 or len(ports) > 11):
            raise InvalidArgument(f"invalid filter '{key}={value[:100]}': a port, a range of ports "
                                  "(8000-8080) and maybe a protocol (80/udp)")
        out |= {f"{p}/{proto}" for p in range(int(first), int(last or first) + 1)}
    return out
