"""Image references with Docker's rules (distribution/reference, normalised).

``busybox`` -> ``docker.io/library/busybox:latest``; ``user/app`` ->
``docker.io/user/app:latest``; the first path component is a registry host
when it has a ``.`` or a ``:``, is ``localhost``, or has upper-case letters.
"""

from __future__ import annotations

import functools
import re

from sampan.errors import InvalidArgument

DEFAULT_DOMAIN = "docker.io"
LEGACY_DOMAIN = "index.docker.io"
OFFICIAL_PREFIX = "library/"
DEFAULT_TAG = "latest"
NAME_MAX = 255

# Patterns are compiled on first use, not at import: every `run` imports this module
# and the common reference (``busybox``, ``user/app:tag``) needs none of them.
_ALNUM = r"[a-z0-9]+"
_SEP = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEP}{_ALNUM})*"
PATH_PATTERN = rf"^{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*$"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])"
_LOWER_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
_TAG_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
_HEX = frozenset("0123456789abcdef")


@functools.cache
def _domain_re() -> re.Pattern[str]:
    return re.compile(rf"^{_HOST}(?::[0-9]+)?$")


@functools.cache
def _digest_re() -> re.Pattern[str]:
    return re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$")


def _valid_component(c: str) -> bool:
    """One path component: lowercase alphanumeric runs joined by '.', '_', '__' or '-'+."""
    if not c or c[0] not in _LOWER_ALNUM or c[-1] not in _LOWER_ALNUM:
        return False
    sep = ""
    for ch in c:
        if ch in _LOWER_ALNUM:
            if sep and sep not in (".", "_", "__") and sep.strip("-"):
                return False
            sep = ""
        else:
            sep += ch
    return True


def valid_path(path: str) -> bool:
    """Docker's repository path grammar (PATH_PATTERN), without a regex."""
    return all(_valid_component(c) for c in path.split("/"))


def valid_tag(tag: str) -> bool:
    """``[\\w][\\w.-]{0,127}`` in ASCII: Docker's tag grammar."""
    return (0 < len(tag) <= 128 and tag[0] not in ".-" and _TAG_CHARS.issuperset(tag))


def _is_hex64(s: str) -> bool:
    return len(s) == 64 and _HEX.issuperset(s)


class Reference:
    __slots__ = ("domain", "path", "tag", "digest")

    def __init__(self, domain: str, path: str, tag: str | None = None,
                 digest: str | None = None) -> None:
        self.domain = domain
        self.path = path
        self.tag = tag
        self.digest = digest

    def _key(self) -> tuple:
        return (self.domain, self.path, self.tag, self.digest)

    def __eq__(self, other: object) -> bool:
        return self._key() == other._key() if isinstance(other, Reference) else NotImplemented

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (f"Reference(domain={self.domain!r}, path={self.path!r}, tag={self.tag!r}, "
                f"digest={self.digest!r})")

    @property
    def name(self) -> str:
        """Repository name with its registry: ``docker.io/library/busybox``."""
        return f"{self.domain}/{self.path}"

    def _suffix(self) -> str:
        out = f":{self.tag}" if self.tag else ""
        return out + (f"@{self.digest}" if self.digest else "")

    def __str__(self) -> str:
        return self.name + self._suffix()

    def familiar_name(self) -> str:
        """The repository as Docker shows it: ``busybox``, ``user/app``, ``localhost:5000/app``."""
        if self.domain != DEFAULT_DOMAIN:
            return self.name
        path = self.path
        if path.startswith(OFFICIAL_PREFIX) and "/" not in path[len(OFFICIAL_PREFIX):]:
            path = path[len(OFFICIAL_PREFIX):]
        return path

    def familiar(self) -> str:
        """The short form Docker prints: ``busybox:latest``, ``localhost:5000/app:1``."""
        return self.familiar_name() + self._suffix()

    def with_tag(self, tag: str) -> "Reference":
        if not valid_tag(tag):
            raise InvalidArgument(f"invalid tag {tag!r}: use letters, digits, '_', '.', '-' "
                                  "(not first), at most 128 characters")
        return Reference(self.domain, self.path, tag, None)


def _split_domain(name: str) -> tuple[str, str]:
    i = name.find("/")
    first = name[:i] if i >= 0 else ""
    if i < 0 or (not any(c in first for c in ".:") and first != "localhost"
                 and first.lower() == first):
        domain, remainder = DEFAULT_DOMAIN, name
    else:
        domain, remainder = first, name[i + 1:]
    if domain == LEGACY_DOMAIN:
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in remainder:
        remainder = OFFICIAL_PREFIX + remainder
    return domain, remainder


def parse_reference(s: str, default_tag: bool = True) -> Reference:
    """Parse and normalise an image reference; a bare name gets the ``latest`` tag.

    Raises InvalidArgument (one line saying what is wrong) for anything Docker rejects.
    """
    if not isinstance(s, str) or not s:
        raise InvalidArgument("invalid reference format: empty image name")
    bad = f"invalid reference format: {s!r}"
    if _is_hex64(s):
        raise InvalidArgument(f"invalid repository name ({s}): cannot specify 64-byte "
                              "hexadecimal strings; use sha256:<id> to name an image by id")
    rest, digest = s, None
    if "@" in rest:
        rest, digest = rest.split("@", 1)
        if not _digest_re().fullmatch(digest):
            raise InvalidArgument(f"{bad}: bad digest {digest!r} (expected sha256:<64 hex>)")
        if digest.startswith("sha256:") and not _is_hex64(digest[7:]):
            raise InvalidArgument(f"{bad}: bad digest {digest!r} (expected sha256:<64 hex>)")
    tag = None
    colon, slash = rest.rfind(":"), rest.rfind("/")
    if colon > slash:
        rest, tag = rest[:colon], rest[colon + 1:]
        if not valid_tag(tag):
            raise InvalidArgument(f"{bad}: bad tag {tag!r} (letters, digits, '_', '.', '-', "
                                  "not starting with '.' or '-', at most 128 characters)")
    if not rest:
        raise InvalidArgument(f"{bad}: missing repository name")
    domain, path = _split_domain(rest)
    if domain != DEFAULT_DOMAIN and not _domain_re().fullmatch(domain):
        raise InvalidArgument(f"{bad}: bad registry host {domain!r}")
    if path.lower() != path and valid_path(path.lower()):
        raise InvalidArgument(f"{bad}: repository name must be lowercase")
    if not valid_path(path):
        raise InvalidArgument(f"{bad}: repository name may only use lowercase letters, digits "
                              "and separators ('.', '_', '__', '-') between '/' components")
    if len(domain) + 1 + len(path) > NAME_MAX:
        raise InvalidArgument(f"{bad}: repository name longer than {NAME_MAX} characters")
    if tag is None and digest is None and default_tag:
        tag = DEFAULT_TAG
    return Reference(domain, path, tag, digest)


def normalize(s: str) -> str:
    """The full normalised string of a reference (``docker.io/library/busybox:latest``)."""
    return str(parse_reference(s))


def familiar(s: str) -> str:
    return parse_reference(s).familiar()
