"""Variable expansion with the rules of Docker's shell lexer (BuildKit's shell/lex.go).

Handles quotes, the escape token, ``$A``, ``${A}``, ``${A:-w}``, ``${A-w}``,
``${A:+w}``, ``${A+w}``, ``${A:?msg}``, ``${A?msg}``. The parser leaves quotes
in place for ENV/LABEL/ARG/COPY... values; removing them is this module's job,
exactly as in Docker (so ``ENV A="x y"`` gives ``x y``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping

_SPECIAL_PARAMS = "@*#?-$!0"


class ExpandError(ValueError):
    """A malformed substitution; the caller adds the Dockerfile line."""


@dataclass
class _Scanner:
    text: str
    pos: int = 0

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def next(self) -> str:
        ch = self.peek()
        if ch:
            self.pos += 1
        return ch


@dataclass
class Expansion:
    words: list[str]
    used: set[str] = field(default_factory=set)  # variable names looked up (for cache keys)


class Lexer:
    def __init__(self, escape: str = "\\"):
        self.escape = escape

    # --- public ---
    def word(self, text: str, env: Mapping[str, str]) -> str:
        """One word: quotes removed, variables replaced, no splitting."""
        return self.expand(text, env, split=False).words[0]

    def words(self, text: str, env: Mapping[str, str]) -> list[str]:
        """Split on unquoted whitespace after expansion (quoted spaces kept)."""
        return self.expand(text, env, split=True).words

    def expand(self, text: str, env: Mapping[str, str], split: bool = False) -> Expansion:
        run = _Run(self.escape, env)
        words = run.process(_Scanner(text), split)
        return Expansion(words, run.used)

    def heredoc(self, text: str, env: Mapping[str, str]) -> Expansion:
        """Heredoc bodies: only $ substitutions; quotes stay, escape only before $."""
        run = _Run(self.escape, env)
        sc = _Scanner(text)
        out: list[str] = []
        while sc.peek():
            ch = sc.peek()
            if ch == "$":
                out.append(run._dollar(sc))
            elif ch == self.escape and sc.text[sc.pos + 1:sc.pos + 2] == "$":
                sc.next()
                out.append(sc.next())
            else:
                out.append(sc.next())
        return Expansion(["".join(out)], run.used)


class _Run:
    def __init__(self, escape: str, env: Mapping[str, str]):
        self.escape = escape
        self.env = env
        self.used: set[str] = set()

    def process(self, sc: _Scanner, split: bool) -> list[str]:
        words: list[str] = []
        cur: list[str] = []
        in_word = False  # a quoted empty string ("") still makes a word
        while sc.peek():
            ch = sc.peek()
            if split and ch in " \t\r\n":
                sc.next()
                if in_word:
                    words.append("".join(cur))
                    cur, in_word = [], False
                continue
            if split and ch == "$":
                # An unquoted variable's value is split on whitespace, as in a shell.
                value = self._dollar(sc)
                for i, part in enumerate(value.split()) if value.strip() else []:
                    if i or (value[0].isspace() and in_word):
                        words.append("".join(cur))
                        cur = []
                    cur.append(part)
                    in_word = True
                if value and value[-1].isspace() and in_word:
                    words.append("".join(cur))
                    cur, in_word = [], False
                continue
            cur.append(self._one(sc, stop=""))
            in_word = True
        if not split:
            return ["".join(cur)]
        if in_word:
            words.append("".join(cur))
        return words

    def _one(self, sc: _Scanner, stop: str) -> str:
        """Consume one lexical unit (char, quoted string, escape, $var)."""
        ch = sc.peek()
        if ch == "'":
            return self._single_quote(sc)
        if ch == '"':
            return self._double_quote(sc)
        if ch == "$":
            return self._dollar(sc)
        sc.next()
        if ch == self.escape:
            # An escape at the very end is dropped; otherwise the next char is literal.
            return sc.next()
        return ch

    def _until(self, sc: _Scanner, stop: str) -> str:
        out: list[str] = []
        while sc.peek() and sc.peek() != stop:
            out.append(self._one(sc, stop))
        if sc.peek() != stop:
            raise ExpandError(f"missing '{stop}' in substitution")
        sc.next()
        return "".join(out)

    def _single_quote(self, sc: _Scanner) -> str:
        sc.next()
        out: list[str] = []
        while True:
            ch = sc.next()
            if not ch:
                raise ExpandError("unexpected end of statement while looking for matching single-quote")
            if ch == "'":
                return "".join(out)
            out.append(ch)

    def _double_quote(self, sc: _Scanner) -> str:
        sc.next()
        out: list[str] = []
        while True:
            ch = sc.peek()
            if not ch:
                raise ExpandError("unexpected end of statement while looking for matching double-quote")
            if ch == '"':
                sc.next()
                return "".join(out)
            if ch == "$":
                out.append(self._dollar(sc))
                continue
            sc.next()
            if ch == self.escape:
                nxt = sc.peek()
                if not nxt:
                    continue
                if nxt in ('"', "$", self.escape):
                    ch = sc.next()
            out.append(ch)

    def _name(self, sc: _Scanner) -> str:
        ch = sc.peek()
        if ch.isdigit():
            digits = []
            while sc.peek().isdigit():
                digits.append(sc.next())
            return "".join(digits)
        if ch and ch in _SPECIAL_PARAMS:
            return sc.next()
        name = []
        while sc.peek() and (sc.peek().isalnum() or sc.peek() == "_"):
            name.append(sc.next())
        return "".join(name)

    def _lookup(self, name: str) -> str | None:
        self.used.add(name)
        return self.env.get(name)

    def _dollar(self, sc: _Scanner) -> str:
        sc.next()  # '$'
        if sc.peek() != "{":
            name = self._name(sc)
            if not name:
                return "$"
            return self._lookup(name) or ""
        sc.next()  # '{'
        name = self._name(sc)
        if not name:
            raise ExpandError("bad substitution: empty or invalid variable name in ${}")
        ch = sc.next()
        if ch == "}":
            return self._lookup(name) or ""
        value = self._lookup(name)
        if ch in ("#", "%"):
            return self._trim(sc, ch, value or "")
        if ch == "/":
            return self._replace(sc, value or "")
        colon = ch == ":"
        if colon:
            ch = sc.next()
        if ch not in ("-", "+", "?"):
            if not ch:
                raise ExpandError("missing '}' in substitution")
            raise ExpandError(f"unsupported modifier ({ch}) in substitution")
        word = self._until(sc, "}")
        is_set = value is not None and (value != "" or not colon)
        if ch == "-":
            return value if is_set else word  # type: ignore[return-value]
        if ch == "+":
            return word if is_set else ""
        if not is_set:  # '?'
            default = "is not allowed to be empty" if colon else "is not allowed to be unset"
            raise ExpandError(f"{name}: {word or default}")
        return value  # type: ignore[return-value]

    def _pattern_until(self, sc: _Scanner, stops: str, pattern: bool = True) -> tuple[str, str]:
        """A shell pattern up to one of `stops` (escapes kept for the pattern); (text, stop)."""
        out: list[str] = []
        while sc.peek() and sc.peek() not in stops:
            ch = sc.peek()
            if ch == self.escape:
                sc.next()
                nxt = sc.next()
                out.append("\\" + nxt if nxt else "")
            elif ch == "$":
                out.append(self._dollar(sc))
            elif ch in "'\"":
                quoted = self._one(sc, "")
                out.append(_escape_pattern(quoted) if pattern else quoted)
            else:
                out.append(sc.next())
        stop = sc.next()
        if not stop:
            raise ExpandError("missing '}' in substitution")
        return "".join(out), stop

    def _trim(self, sc: _Scanner, op: str, value: str) -> str:
        longest = sc.peek() == op
        if longest:
            sc.next()
        pattern, _ = self._pattern_until(sc, "}")
        rx = _pattern_regex(pattern)
        sizes = range(len(value), -1, -1) if longest else range(0, len(value) + 1)
        for size in sizes:
            if op == "#" and rx.fullmatch(value[:size]):
                return value[size:]
            if op == "%" and rx.fullmatch(value[len(value) - size:]):
                return value[:len(value) - size]
        return value

    def _replace(self, sc: _Scanner, value: str) -> str:
        every = sc.peek() == "/"
        if every:
            sc.next()
        pattern, stop = self._pattern_until(sc, "/}")
        if stop != "/":
            raise ExpandError("missing '/' in ${VAR/pattern/replacement} substitution")
        # BuildKit keeps escapes in the replacement as written (`${A//\\//\\/}` -> `\\/`).
        replacement, _ = self._pattern_until(sc, "}", pattern=False)
        rx = _pattern_regex(pattern)
        out: list[str] = []
        i = 0
        while i <= len(value):
            hit = None
            for end in range(len(value), i - 1, -1):  # longest match at the first position
                if rx.fullmatch(value[i:end]):
                    hit = end
                    break
            if hit is None:
                if i < len(value):
                    out.append(value[i])
                i += 1
                continue
            out.append(replacement)
            if not every:
                out.append(value[hit:])
                return "".join(out)
            if hit == i:
                if i < len(value):
                    out.append(value[i])
                i += 1
            else:
                i = hit
        return "".join(out)


def _escape_pattern(text: str) -> str:
    return "".join("\\" + c if c in "*?[\\" else c for c in text)


def _pattern_regex(pattern: str) -> "re.Pattern[str]":
    """Shell pattern (*, ?, [..], backslash escapes) -> regex; '*' crosses '/'."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 1
            if i >= len(pattern):
                raise ExpandError("bad pattern: trailing backslash")
            out.append(re.escape(pattern[i]))
        elif ch == "*":
            out.append(".*")
        elif ch == "?":
            out.append(".")
        elif ch == "[":
            j = pattern.find("]", i + 2)
            if j < 0:
                out.append(re.escape(ch))
            else:
                body = pattern[i + 1:j]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = j
        else:
            out.append(re.escape(ch))
        i += 1
    return re.compile("".join(out), re.DOTALL)
