"""Go text/template's parser: tokens to a tree of nodes, with Go's checks and error wording
(undefined functions and variables are parse errors, as in Go)."""

from __future__ import annotations

from sampan.cli.gotemplate import nodes as N
from sampan.cli.gotemplate.gofmt import go_quote as _go_quote
from sampan.cli.gotemplate.lexer import TemplateLexer, TemplateSyntaxError, Token

_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\",
            "'": "'", '"': '"'}


def unquote(s: str) -> str:
    """Go's strconv.Unquote for "..." (and '...' characters)."""
    body, out, i = s[1:-1], [], 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        e = body[i + 1] if i + 1 < len(body) else ""
        if e in _ESCAPES:
            out.append(_ESCAPES[e])
            i += 2
        elif e in "xuU":
            size = {"x": 2, "u": 4, "U": 8}[e]
            digits = body[i + 2:i + 2 + size]
            if len(digits) != size or any(d not in "0123456789abcdefABCDEF" for d in digits):
                raise ValueError("invalid syntax")
            out.append(chr(int(digits, 16)))
            i += 2 + size
        elif e in "01234567":
            digits = body[i + 1:i + 4]
            if len(digits) != 3 or any(d not in "01234567" for d in digits):
                raise ValueError("invalid syntax")
            out.append(chr(int(digits, 8)))
            i += 4
        else:
            raise ValueError("invalid syntax")
    return "".join(out)


def _number(text: str):
    t = text.replace("_", "")
    low = t.lower().lstrip("+-")
    try:
        if low.startswith(("0x", "0o", "0b")) and "p" not in low:
            return int(t, 0)
        if any(c in low for c in ".ep") and not low.startswith("0x"):
            return float(t)
        if low.startswith("0x"):
            return float.fromhex(t)
        if len(low) > 1 and low.startswith("0"):
            return int(t.replace("0", "0o", 1) if not t.startswith(("+", "-")) else t[0] + "0o" + t[2:], 0)
        return int(t)
    except ValueError:
        return None


class TemplateParser:
    def __init__(self, text: str, funcs):
        self.toks = TemplateLexer(text).run()
        self.i = 0
        self.funcs = funcs
        self.vars = ["$"]
        self.range_depth = 0
        self.defs: dict[str, list] = {}  # {{define}} and {{block}} bodies by name

    # token helpers, as Go's next/peek/backup
    def next(self) -> Token:
        t = self.toks[self.i]
        self.i += 1
        return t

    def peek(self) -> Token:
        return self.toks[self.i]

    def next_non_space(self) -> Token:
        t = self.next()
        while t.kind == "space":
            t = self.next()
        return t

    def peek_non_space(self) -> Token:
        t = self.next_non_space()
        self.i -= 1
        return t

    def err(self, msg: str, tok: Token | None = None):
        tok = tok or self.toks[max(self.i - 1, 0)]
        raise TemplateSyntaxError(f"template: :{tok.line}: {msg}")

    def unexpected(self, tok: Token, context: str):
        if tok.kind == "eof":
            item = "EOF"
        elif tok.kind == "keyword":
            item = f"<{tok.val}>"
        elif len(tok.val) > 10:
            item = _go_quote(tok.val[:10]) + "..."
        else:
            item = _go_quote(tok.val)
        self.err(f"unexpected {item} in {context}", tok)

    def expect(self, kind: str, context: str) -> Token:
        t = self.next_non_space()
        if t.kind != kind:
            self.unexpected(t, context)
        return t

    # the grammar
    def parse(self) -> list:
        out = []
        while self.peek().kind != "eof":
            if self.peek().kind == "left" and self.toks[self.i + 1].kind == "keyword" \
                    and self.toks[self.i + 1].val == "define":
                self.i += 2
                self.define()
                continue
            n = self.text_or_action()
            if isinstance(n, tuple):
                self.err(f"unexpected {{{{{n[0]}}}}}")
            out.append(n)
        return out

    def define(self) -> None:
        name = self.next_non_space()
        if name.kind not in ("string", "raw"):
            self.unexpected(name, "define clause")
        self.expect("right", "define clause")
        saved, self.vars = self.vars, ["$"]
        body, nxt = self.item_list()
        self.vars = saved
        if nxt[0] != "end":
            self.err("unexpected {{else}} in define clause")
        self.defs[unquote(name.val) if name.kind == "string" else name.val[1:-1]] = body

    def template_call(self, kw: Token):
        """{{template "name" pipeline}}, and {{block "name" pipeline}}body{{end}} (define + call)."""
        name = self.next_non_space()
        if name.kind not in ("string", "raw"):
            self.unexpected(name, kw.val + " clause")
        text = unquote(name.val) if name.kind == "string" else name.val[1:-1]
        pipe = None
        if self.peek_non_space().kind != "right":
            pipe = self.pipeline(kw.val + " clause", "right")
        else:
            self.next_non_space()
        if kw.val == "block":
            saved, self.vars = self.vars, ["$"]
            body, nxt = self.item_list()
            self.vars = saved
            if nxt[0] != "end":
                self.err("unexpected {{else}} in block clause")
            self.defs[text] = body
        shown = "{{template " + _go_quote(text) + (f" {pipe}" if pipe else "") + "}}"
        return N.TemplateCall(name.pos, name.line, text, shown, pipe)

    def item_list(self):
        out = []
        while self.peek_non_space().kind != "eof":
            n = self.text_or_action()
            if isinstance(n, tuple):
                return out, n
            out.append(n)
        self.err("unexpected EOF")

    def text_or_action(self):
        t = self.next_non_space()
        if t.kind == "text":
            return N.Text(t.pos, t.val)
        if t.kind == "left":
            return self.action()
        self.unexpected(t, "input")

    def action(self):
        t = self.next_non_space()
        if t.kind == "keyword":
            if t.val in ("if", "range", "with"):
                return self.control(t)
            if t.val == "end":
                self.expect("right", "end")
                return ("end",)
            if t.val == "else":
                p = self.peek_non_space()
                if p.kind == "keyword" and p.val == "if":
                    return ("else", "if")
                self.expect("right", "else")
                return ("else",)
            if t.val in ("break", "continue"):
                nt = self.next_non_space()
                if nt.kind != "right":
                    self.unexpected(nt, "{{" + t.val + "}}")
                if not self.range_depth:
                    self.err(f"{{{{{t.val}}}}} outside {{{{range}}}}", t)
                return (N.Break if t.val == "break" else N.Continue)(t.pos, t.line)
            if t.val in ("template", "block"):
                return self.template_call(t)
        self.i -= 1
        p = self.peek_non_space()
        return N.Action(p.pos, p.line, self.pipeline("command", "right"))

    def control(self, kw: Token):
        mark = len(self.vars)
        try:
            pipe = self.pipeline(kw.val, "right")
            if kw.val == "range":
                self.range_depth += 1
            body, nxt = self.item_list()
            if kw.val == "range":
                self.range_depth -= 1
            else_body = None
            if nxt[0] == "else":
                if nxt[1:] == ("if",) and kw.val == "if":
                    t = self.next_non_space()  # the "if"
                    else_body = [self.control(t)]  # shares this if's {{end}}
                elif nxt[1:] == ("if",):
                    self.err("unexpected <if> in input")  # only if takes "else if" in Go 1.19
                else:
                    else_body, nxt = self.item_list()
                    if nxt[0] != "end":
                        self.err("expected end; found {{else}}")
            return N.Branch(kw.pos, kw.val, kw.line, pipe, body, else_body)
        finally:
            del self.vars[mark:]

    def pipeline(self, context: str, end: str) -> N.Pipe:
        tok = self.peek_non_space()
        pipe = N.Pipe(tok.pos, tok.line)
        while True:  # declarations: $x :=, $x =, $i, $e :=
            v = self.peek_non_space()
            if v.kind != "var":
                break
            save = self.i
            self.next_non_space()
            nxt = self.peek_non_space()
            if nxt.kind in ("declare", "assign"):
                self.next_non_space()
                pipe.is_assign = nxt.kind == "assign"
                pipe.decl.append(v.val)
                if nxt.kind == "declare":
                    self.vars.append(v.val)
                elif v.val not in self.vars:
                    self.err(f"undefined variable {_go_quote(v.val)}", v)
                break
            if nxt.kind == "comma":
                self.next_non_space()
                pipe.decl.append(v.val)
                self.vars.append(v.val)
                if context == "range" and len(pipe.decl) < 2:
                    if self.peek_non_space().kind in ("var", "right", "rparen"):
                        continue
                    self.err("range can only initialize variables")
                self.err(f"too many declarations in {context}")
            self.i = save
            break
        while True:
            t = self.next_non_space()
            if t.kind == end:
                self.check_pipeline(pipe, context)
                return pipe
            if t.kind in ("bool", "char", "dot", "field", "ident", "number", "nil", "raw", "string", "var",
                          "lparen"):
                self.i -= 1
                pipe.cmds.append(self.command())
            else:
                self.unexpected(t, context)

    def check_pipeline(self, pipe: N.Pipe, context: str) -> None:
        if not pipe.cmds:
            self.err(f"missing value for {context}")
        for i, c in enumerate(pipe.cmds[1:]):
            if isinstance(c.args[0], (N.Bool, N.Dot, N.Nil, N.Number, N.String)):
                self.err(f"non executable command in pipeline stage {i + 2}")

    def command(self) -> N.Command:
        cmd = N.Command(self.peek_non_space().pos, [])
        while True:
            self.peek_non_space()
            op = self.operand()
            if op is not None:
                cmd.args.append(op)
            t = self.next()
            if t.kind == "space":
                continue
            if t.kind in ("right", "rparen"):
                self.i -= 1
            elif t.kind != "pipe":
                self.unexpected(t, "operand")
            break
        if not cmd.args:
            self.err("empty command")
        return cmd

    def operand(self):
        node = self.term()
        if node is None:
            return None
        if self.peek().kind == "field":
            chain_pos = self.peek().pos
            fields = []
            while self.peek().kind == "field":
                fields.append(self.next().val[1:])
            if isinstance(node, N.Field):
                return N.Field(chain_pos, node.idents + fields)
            if isinstance(node, N.Variable):
                return N.Variable(chain_pos, node.idents + fields)
            if isinstance(node, (N.Bool, N.String, N.Number, N.Nil, N.Dot)):
                self.err(f"unexpected . after term {_go_quote(str(node))}")
            return N.Chain(node.pos, node, fields)
        return node

    def term(self):
        t = self.next_non_space()
        k = t.kind
        if k == "ident":
            if t.val not in self.funcs:
                self.err(f"function {_go_quote(t.val)} not defined", t)
            return N.Identifier(t.pos, t.val)
        if k == "dot":
            return N.Dot(t.pos)
        if k == "nil":
            return N.Nil(t.pos)
        if k == "var":
            if t.val not in self.vars:
                self.err(f"undefined variable {_go_quote(t.val)}", t)
            return N.Variable(t.pos, [t.val])
        if k == "field":
            return N.Field(t.pos, [t.val[1:]])
        if k == "bool":
            return N.Bool(t.pos, t.val == "true")
        if k == "number":
            v = _number(t.val)
            if v is None:
                self.err(f"bad number syntax: {_go_quote(t.val)}", t)
            return N.Number(t.pos, v, t.val)
        if k == "char":
            try:
                v = unquote('"' + t.val[1:-1].replace('"', '\\"') + '"') if t.val != "'\"'" else '"'
            except ValueError:
                v = ""
            if len(v) != 1:
                self.err(f"malformed character constant: {t.val}", t)
            return N.Number(t.pos, ord(v), t.val)
        if k == "lparen":
            return self.pipeline("parenthesized pipeline", "rparen")
        if k in ("string", "raw"):
            try:
                v = unquote(t.val) if k == "string" else t.val[1:-1]
            except ValueError:
                self.err("invalid syntax", t)
            return N.String(t.pos, v, t.val)
        self.i -= 1
        return None


def parse(text: str, funcs) -> list:
    return TemplateParser(text, funcs).parse()
