"""Image references with Docker's rules (distribution/reference, normalised).

``busybox`` -> ``docker.io/library/busybox:latest``; ``user/app`` ->
``docker.io/user/app:latest``; the first path component is a registry host
when it has a ``.`` or a ``:``, is ``localhost``, or has upper-case letters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sampan.errors import InvalidArgument

DEFAULT_DOMAIN = "docker.io"
LEGACY_DOMAIN = "index.docker.io"
OFFICIAL_PREFIX = "library/"
DEFAULT_TAG = "latest"
NAME_MAX = 255

_ALNUM = r"[a-z0-9]+"
_SEP = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEP}{_ALNUM})*"
_PATH_RE = re.compile(rf"^{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*$")
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])"
_DOMAIN_RE = re.compile(rf"^{_HOST}(?::[0-9]+)?$")
_TAG_RE = re.compile(r"^[\w][\w.-]{0,127}$", re.ASCII)
_DIGEST_RE = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$")
_SHA256_RE = re.compile(r"^sha256:[a-f0-9]{64}$")
_HEX64_RE = re.compile(r"^[a-f0-9]{64}$")


@dataclass(frozen=True)
class Reference:
    domain: str
    path: str
    tag: str | None = None
    digest: str | None = None

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
        if not _TAG_RE.match(tag):
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
    if _HEX64_RE.match(s):
        raise InvalidArgument(f"invalid repository name ({s}): cannot specify 64-byte "
                              "hexadecimal strings; use sha256:<id> to name an image by id")
    rest, digest = s, None
    if "@" in rest:
        rest, digest = rest.split("@", 1)
        if not _DIGEST_RE.match(digest):
            raise InvalidArgument(f"{bad}: bad digest {digest!r} (expected sha256:<64 hex>)")
        if digest.startswith("sha256:") and not _SHA256_RE.match(digest):
            raise InvalidArgument(f"{bad}: bad digest {digest!r} (expected sha256:<64 hex>)")
    tag = None
    colon, slash = rest.rfind(":"), rest.rfind("/")
    if colon > slash:
        rest, tag = rest[:colon], rest[colon + 1:]
        if not _TAG_RE.match(tag):
            raise InvalidArgument(f"{bad}: bad tag {tag!r} (letters, digits, '_', '.', '-', "
                                  "not starting with '.' or '-', at most 128 characters)")
    if not rest:
        raise InvalidArgument(f"{bad}: missing repository name")
    domain, path = _split_domain(rest)
    if not _DOMAIN_RE.match(domain):
        raise InvalidArgument(f"{bad}: bad registry host {domain!r}")
    if path.lower() != path and _PATH_RE.match(path.lower()):
        raise InvalidArgument(f"{bad}: repository name must be lowercase")
    if not _PATH_RE.match(path):
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
