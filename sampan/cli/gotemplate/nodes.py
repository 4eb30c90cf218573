"""The parse tree of a template, with Go's String() of each node (error messages quote it)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ParseNode:
    pos: int


@dataclass
class Text(ParseNode):
    text: str


@dataclass
class Field(ParseNode):
    idents: list[str]

    def __str__(self):
        return "".join("." + i for i in self.idents)


@dataclass
class Variable(ParseNode):
    idents: list[str]  # "$x" then field names

    def __str__(self):
        return ".".join(self.idents)


@dataclass
class Dot(ParseNode):
    def __str__(self):
        return "."


@dataclass
class Nil(ParseNode):
    def __str__(self):
        return "nil"


@dataclass
class Bool(ParseNode):
    value: bool

    def __str__(self):
        return "true" if self.value else "false"


@dataclass
class Number(ParseNode):
    value: object  # int, float or complex
    text: str

    def __str__(self):
        return self.text


@dataclass
class String(ParseNode):
    value: str
    quoted: str

    def __str__(self):
        return self.quoted


@dataclass
class Identifier(ParseNode):
    name: str

    def __str__(self):
        return self.name


@dataclass
class Chain(ParseNode):
    node: ParseNode
    fields: list[str]

    def __str__(self):
        inner = f"({self.node})" if isinstance(self.node, Pipe) else str(self.node)
        return inner + "".join("." + f for f in self.fields)


@dataclass
class Command(ParseNode):
    args: list[ParseNode]

    def __str__(self):
        return " ".join(f"({a})" if isinstance(a, Pipe) else str(a) for a in self.args)


@dataclass
class Pipe(ParseNode):
    line: int
    decl: list[str] = field(default_factory=list)
    is_assign: bool = False
    cmds: list[Command] = field(default_factory=list)

    def __str__(self):
        s = ""
        if self.decl:
            s = ", ".join(self.decl) + (" = " if self.is_assign else " := ")
        return s + " | ".join(str(c) for c in self.cmds)


@dataclass
class Action(ParseNode):
    line: int
    pipe: Pipe

    def __str__(self):
        return "{{" + str(self.pipe) + "}}"


@dataclass
class Branch(ParseNode):
    kind: str  # if, range, with
    line: int
    pipe: Pipe
    body: list[ParseNode]
    else_body: list[ParseNode] | None

    def __str__(self):
        return "{{" + self.kind + " " + str(self.pipe) + "}}"


@dataclass
class Break(ParseNode):
    line: int


@dataclass
class Continue(ParseNode):
    line: int


@dataclass
class TemplateCall(ParseNode):
    """{{template "name" pipeline}}: runs a template defined in the same format."""
    line: int
    name: str
    text: str
    pipe: "Pipe | None" = None

    def __str__(self):
        return self.text
