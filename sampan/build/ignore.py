"""`.dockerignore` rules, as Docker's patternmatcher applies them.

- one pattern per line; blank lines and lines starting with ``#`` are skipped
- ``!pattern`` re-includes; the LAST matching pattern wins
- patterns are cleaned like Go's filepath.Clean; a leading ``/`` is dropped
- ``*`` and ``?`` never cross ``/``; ``[...]`` classes; ``\\`` escapes (Go filepath.Match)
- ``**`` matches any number of directories, including none
- a pattern that matches a directory excludes everything below it
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Pattern:
    text: str
    exclusion: bool  # True for "!pattern" (re-include)
    regex: re.Pattern[str]


def clean(path: str) -> str:
    """Go's filepath.Clean for slash paths, returning '.' for empty."""
    if not path:
        return "."
    cleaned = posixpath.normpath(path)
    if cleaned.startswith("//"):
        cleaned = "/" + cleaned.lstrip("/")
    return cleaned


def _translate(pattern: str) -> str:
    """Pattern -> anchored regex (Go filepath.Match plus `**`)."""
    out = ["^"]
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "*":
            if pattern.startswith("**", i):
                i += 2
                if i < n and pattern[i] == "/":
                    i += 1
                    out.append("(?:.*/)?")  # zero or more whole directories
                else:
                    out.append(".*")
                continue
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "\\" and i + 1 < n:
            i += 1
            out.append(re.escape(pattern[i]))
        elif ch == "[":
            j = i + 1
            cls = ["["]
            if j < n and pattern[j] == "^":
                cls.append("^")
                j += 1
            while j < n and pattern[j] != "]":
                c = pattern[j]
                if c == "\\" and j + 1 < n:
                    j += 1
                    c = pattern[j]
                cls.append("\\" + c if c in "\\^[" else c)
                j += 1
            if j >= n:
                raise ValueError(f"syntax error in pattern {pattern!r}: unterminated '['")
            if cls[1] == "^":
                cls.append("/")  # a negated class still never matches '/'
            cls.append("]")
            out.append("".join(cls))
            i = j
        else:
            out.append(re.escape(ch))
        i += 1
    out.append("$")
    return "".join(out)


def parse_patterns(lines: list[str]) -> list[Pattern]:
    patterns: list[Pattern] = []
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        exclusion = line.startswith("!")
        if exclusion:
            line = line[1:].strip()
            if not line:
                raise ValueError("illegal exclusion pattern: \"!\"")
        text = clean(line).lstrip("/") or "."
        if text == ".":
            # "." or "/" would ignore the whole context; Docker skips it.
            continue
        patterns.append(Pattern(text, exclusion, re.compile(_translate(text), re.DOTALL)))
    return patterns


class IgnoreMatcher:
    def __init__(self, patterns: list[Pattern]):
        self.patterns = patterns
        self.has_exclusions = any(p.exclusion for p in patterns)

    @classmethod
    def from_text(cls, text: str) -> "IgnoreMatcher":
        return cls(parse_patterns(text.splitlines()))

    @classmethod
    def empty(cls) -> "IgnoreMatcher":
        return cls([])

    def ignored(self, relpath: str) -> bool:
        """Is this context-relative path (slash-separated) excluded?"""
        if not self.patterns:
            return False
        path = clean(relpath).lstrip("/")
        parents = _self_and_parents(path)
        result = False
        for pat in self.patterns:
            if any(pat.regex.match(p) for p in parents):
                result = not pat.exclusion
        return result

    def may_reinclude_under(self, reldir: str) -> bool:
        """Could an exception pattern re-include something below this ignored dir?"""
        if not self.has_exclusions:
            return False
        prefix = clean(reldir).lstrip("/") + "/"
        for pat in self.patterns:
            if not pat.exclusion:
                continue
            if pat.text.startswith(prefix) or "*" in pat.text or "?" in pat.text or "[" in pat.text:
                return True
        return False


def _self_and_parents(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def load_ignore_file(context: Path, dockerfile: Path | None = None) -> IgnoreMatcher:
    """`<Dockerfile>.dockerignore` (next to the Dockerfile) wins over `.dockerignore`."""
    candidates: list[Path] = []
    if dockerfile is not None:
        candidates.append(Path(str(dockerfile) + ".dockerignore"))
    candidates.append(context / ".dockerignore")
    for path in candidates:
        try:
            text = _read_in(context, path)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            continue
        return IgnoreMatcher.from_text(text)
    return IgnoreMatcher.empty()


_MAX_IGNORE = 4 << 20


def _read_in(context: Path, path: Path) -> str:
    """A file inside the context is opened inside it (a context's link never leads a read
    out of it: a tar or git context is hostile); one outside (next to a `-f` Dockerfile
    of the user's) is read as it is. A regular file only, at most 4 MiB."""
    import os
    import stat

    from sampan.state import inroot
    try:
        rel = os.path.relpath(path, context)
    except ValueError:
        rel = ".."
    if rel == ".." or rel.startswith("../"):
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    else:
        rootfd = inroot.open_root(context)
        try:
            fd = inroot.open_in_root(rootfd, rel, os.O_RDONLY | os.O_NONBLOCK)
        finally:
            os.close(rootfd)
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise IsADirectoryError(str(path))
        return f.read(_MAX_IGNORE).decode(errors="replace")
