"""Go text/template's lexer: the template text cut into text runs and action tokens.

Positions are byte offsets into the template, as Go reports them in error messages."""

from __future__ import annotations

from dataclasses import dataclass

KEYWORDS = {"if", "else", "end", "range", "with", "define", "template", "block", "break", "continue",
            "nil", "true", "false"}


class TemplateSyntaxError(Exception):
    """A parse error, worded as Go's (`template: :LINE: message`)."""


@dataclass
class Token:
    kind: str  # text, left, right, field, var, ident, string, raw, char, number, bool, nil, dot,
    #           lparen, rparen, pipe, declare, assign, comma, keyword, space, eof
    val: str
    pos: int
    line: int


def _alnum(c: str) -> bool:
    return c == "_" or c.isalnum()


class TemplateLexer:
    def __init__(self, text: str):
        self.text = text
        self.tokens: list[Token] = []
        self.line = 1

    def _err(self, msg: str, line: int | None = None):
        raise TemplateSyntaxError(f"template: :{line or self.line}: {msg}")

    def _emit(self, kind: str, val: str, pos: int, line: int | None = None) -> None:
        self.tokens.append(Token(kind, val, pos, line or self.line))

    def run(self) -> list[Token]:
        t, i, n = self.text, 0, len(self.text)
        while i < n:
            j = t.find("{{", i)
            if j < 0:
                self._text(i, n)
                break
            trim_left = t.startswith("{{- ", j) or t.startswith("{{-\t", j) or t.startswith("{{-\n", j) \
                or t.startswith("{{-\r", j)
            end = j
            if trim_left:
                while end > i and t[end - 1] in " \t\r\n":
                    end -= 1
            self._text(i, end)
            self.line += t.count("\n", end, j)
            i = self._action(j, trim_left)
        self._emit("eof", "", n)
        return self.tokens

    def _text(self, a: int, b: int) -> None:
        if b > a:
            self._emit("text", self.text[a:b], a)
            self.line += self.text.count("\n", a, b)

    def _right_at(self, k: int) -> tuple[bool, int]:
        """Is there a right delimiter at k ("}}", or " -}}" that also trims)? (trim, length)"""
        t = self.text
        if t.startswith("}}", k):
            return False, 2
        if k < len(t) and t[k] in " \t\r\n" and t.startswith("-}}", k + 1):
            return True, 4
        return False, 0

    def _after_right(self, k: int, trim: bool, size: int) -> int:
        k += size
        if trim:
            while k < len(self.text) and self.text[k] in " \t\r\n":
                if self.text[k] == "\n":
                    self.line += 1
                k += 1
        return k

    def _action(self, j: int, trim_left: bool) -> int:
        t, n = self.text, len(self.text)
        i = j + (4 if trim_left else 2)
        if t.startswith("/*", i):  # a comment: right after the delimiter (and its trim marker)
            start = i
            close = t.find("*/", start + 2)
            if close < 0:
                self._err("unclosed comment")
            self.line += t.count("\n", start, close)
            k = close + 2
            trim, size = self._right_at(k)
            if not size:
                self._err("comment ends before closing delimiter")
            return self._after_right(k, trim, size)
        self._emit("left", "{{", j)
        depth = 0
        start_line = self.line
        while True:
            if i >= n:
                self._err("unclosed action", start_line)
            c = t[i]
            trim = c in " \t\r\n" and t.startswith("-}}", i + 1)
            if trim or t.startswith("}}", i):
                if depth:
                    self._err("unclosed left paren")
                self._emit("right", "}}", i)
                return self._after_right(i, trim, 4 if trim else 2)
            if c in " \t\r\n":
                k = i
                while k < n and t[k] in " \t\r\n":
                    k += 1
                if t.startswith("-}}", k):
                    k -= 1  # that last space belongs to the trim marker
                    if k == i:
                        continue
                if "\n" in t[i:k]:
                    self.line += t.count("\n", i, k)
                self._emit("space", " ", i)
                i = k
            elif c == "|":
                self._emit("pipe", c, i)
                i += 1
            elif c == "(":
                depth += 1
                self._emit("lparen", c, i)
                i += 1
            elif c == ")":
                depth -= 1
                if depth < 0:
                    self._err('unexpected ")" in command')
                self._emit("rparen", c, i)
                i += 1
            elif c == ",":
                self._emit("comma", c, i)
                i += 1
            elif t.startswith(":=", i):
                self._emit("declare", ":=", i)
                i += 2
            elif c == "=":
                self._emit("assign", "=", i)
                i += 1
            elif c == '"':
                k = i + 1
                while k < n and t[k] != '"':
                    if t[k] == "\\":
                        k += 1
                    if k < n and t[k] == "\n":
                        self._err("unterminated quoted string")
                    k += 1
                if k >= n:
                    self._err("unterminated quoted string")
                self._emit("string", t[i:k + 1], i)
                i = k + 1
            elif c == "`":
                k = t.find("`", i + 1)
                if k < 0:
                    self._err("unterminated raw quoted string")
                self._emit("raw", t[i:k + 1], i)
                self.line += t.count("\n", i, k)
                i = k + 1
            elif c == "'":
                k = i + 1
                while k < n and t[k] != "'":
                    if t[k] == "\\":
                        k += 1
                    k += 1
                if k >= n:
                    self._err("unterminated character constant")
                self._emit("char", t[i:k + 1], i)
                i = k + 1
            elif c == "$":
                k = i + 1
                while k < n and _alnum(t[k]):
                    k += 1
                self._terminator(k)
                self._emit("var", t[i:k], i)
                i = k
            elif c == ".":
                if i + 1 < n and t[i + 1].isdigit():
                    i = self._number(i)
                    continue
                k = i + 1
                while k < n and _alnum(t[k]):
                    k += 1
                if k == i + 1:
                    self._emit("dot", ".", i)
                else:
                    self._terminator(k)
                    self._emit("field", t[i:k], i)
                i = k
            elif c.isdigit() or (c in "+-" and i + 1 < n and (t[i + 1].isdigit() or t[i + 1] == ".")):
                i = self._number(i)
            elif _alnum(c):
                k = i
                while k < n and _alnum(t[k]):
                    k += 1
                word = t[i:k]
                self._terminator(k)
                if word in ("true", "false"):
                    self._emit("bool", word, i)
                elif word == "nil":
                    self._emit("nil", word, i)
                elif word in KEYWORDS:
                    self._emit("keyword", word, i)
                else:
                    self._emit("ident", word, i)
                i = k
            else:
                from sampan.cli.gotemplate.gofmt import go_quote
                self._err(f"unexpected {go_quote(c)} in command")

    def _terminator(self, k: int) -> None:
        """Go's atTerminator: a word must end at a space, one of .,|:)( or the delimiter."""
        t = self.text
        if k >= len(t) or t[k] in " \t\r\n.,|:)(" or t.startswith("}}", k):
            return
        c = t[k]
        self._err(f"bad character U+{ord(c):04X} '{c}'")

    def _number(self, i: int) -> int:
        t, n = self.text, len(self.text)
        k = i
        if t[k] in "+-":
            k += 1
        while k < n and (t[k].isalnum() or t[k] in "._" or (t[k] in "+-" and t[k - 1] in "eEpP")):
            k += 1
        self._emit("number", t[i:k], i)
        return k

