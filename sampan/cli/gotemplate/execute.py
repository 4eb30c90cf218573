"""Go text/template's executor: walks the tree over a value, with Go's truth, field lookup,
variables, pipelines and error wording (`template: :1:2: executing "" at <.Foo>: ...`)."""

from __future__ import annotations

from sampan.cli.gotemplate import nodes as N

TYPE_CHECKING = False  # `typing` is not otherwise imported for a --format
if TYPE_CHECKING:
    from typing import Any, Callable, NoReturn
from sampan.cli.gotemplate.gofmt import GoStruct, go_print, go_type, sorted_keys


class TemplateExecError(Exception):
    pass


class FuncError(Exception):
    """Raised by a template function: reported as `error calling NAME: message`."""


class _Missing:
    """Go's invalid reflect.Value: what a missing map key yields (prints `<no value>`)."""

    def __repr__(self):
        return "<no value>"


MISSING = _Missing()
NO_FINAL = object()  # a pipeline's first command: no value piped in (Go's missingVal)


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


class Func:
    """A template function with its Go signature: params are Go type names ("any", "string",
    "int", "[]string"); variadic is the type of the rest, or None. lazy: and/or get thunks."""

    def __init__(self, impl, params=(), variadic=None, lazy=False):
        self.impl, self.params, self.variadic, self.lazy = impl, tuple(params), variadic, lazy


def is_true(v) -> bool:
    if v is MISSING or v is None:
        return False
    if isinstance(v, GoStruct):
        return True
    if isinstance(v, (bool, int, float, str, list, dict)):
        return bool(v)
    return True


def _type_ok(v, t: str) -> bool:
    if t == "any":
        return True
    if t == "string":
        return isinstance(v, str)
    if t == "int":
        return isinstance(v, int) and not isinstance(v, bool)
    if t == "bool":
        return isinstance(v, bool)
    if t == "[]string":
        return isinstance(v, list) and all(isinstance(x, str) for x in v)
    return False


class State:
    def __init__(self, text: str, name: str, funcs: dict, missing_key_error: bool):
        self.text, self.name, self.funcs = text, name, funcs
        self.missing_key_error = missing_key_error
        self.node: N.ParseNode | None = None
        self.vars: list[list] = []
        self.out: list[str] = []
        self.defs: dict = {}
        self.depth = 0

    # errors, located as Go's ErrorContext does
    def errorf(self, msg: str) -> NoReturn:
        node = self.node
        pos = node.pos if node is not None else 0
        before = self.text[:pos]
        line = before.count("\n") + 1
        col = len(before[before.rfind("\n") + 1:].encode()) if "\n" in before else len(before.encode())
        ctx = str(node) if node is not None else ""
        raise TemplateExecError(f'template: {self.name}:{line}:{col}: executing "{self.name}" at <{ctx}>: {msg}')

    def at(self, node):
        self.node = node

    # variables
    def push(self, name, value):
        self.vars.append([name, value])

    def set_var(self, name, value):
        for v in reversed(self.vars):
            if v[0] == name:
                v[1] = value
                return
        self.errorf(f"undefined variable: {name}")

    def var(self, name):
        for v in reversed(self.vars):
            if v[0] == name:
                return v[1]
        self.errorf(f"undefined variable: {name}")

    # the walk
    def walk(self, dot, nodes: list) -> None:
        for n in nodes:
            self.walk_node(dot, n)

    def walk_node(self, dot, n) -> None:
        if isinstance(n, N.Text):
            self.out.append(n.text)
        elif isinstance(n, N.Action):
            v = self.eval_pipeline(dot, n.pipe)
            if not n.pipe.decl:
                self.print_value(n, v)
        elif isinstance(n, N.Branch):
            mark = len(self.vars)
            try:
                if n.kind == "range":
                    self.walk_range(dot, n)
                else:
                    v = self.eval_pipeline(dot, n.pipe)
                    if is_true(v):
                        self.walk(v if n.kind == "with" else dot, n.body)
                    elif n.else_body is not None:
                        self.walk(dot, n.else_body)
            finally:
                del self.vars[mark:]
        elif isinstance(n, N.TemplateCall):
            self.at(n)
            body = self.defs.get(n.name)
            if body is None:
                self.errorf(f'template "{n.name}" not defined')
            if self.depth >= 100:  # Go allows 100000; Python's stack would end first
                self.errorf("exceeded maximum template depth (100)")
            new_dot = self.eval_pipeline(dot, n.pipe) if n.pipe is not None else MISSING
            saved, self.vars = self.vars, [["$", new_dot]]
            self.depth += 1
            try:
                self.walk(new_dot, body)
            finally:
                self.vars, self.depth = saved, self.depth - 1
        elif isinstance(n, N.Break):
            raise _Break()
        elif isinstance(n, N.Continue):
            raise _Continue()

    def walk_range(self, dot, n: N.Branch) -> None:
        self.at(n)
        v = self.eval_pipeline(dot, n.pipe)
        mark = len(self.vars)
        if isinstance(v, list):
            items = list(enumerate(v))
        elif isinstance(v, dict):
            items = [(k, v[k]) for k in sorted_keys(v)]
        elif v is MISSING or v is None:
            items = []
        elif isinstance(v, int) and not isinstance(v, bool):  # Go 1.22's range over an integer
            if len(n.pipe.decl) > 1:
                self.errorf(f"can't use {v} to iterate over more than one variable")
            items = [(i, i) for i in range(v)]
        else:
            self.errorf(f"range can't iterate over {go_print(v)}")
        for key, elem in items:
            if n.pipe.decl:
                if n.pipe.is_assign:
                    self.set_var(n.pipe.decl[-1] if len(n.pipe.decl) == 1 else n.pipe.decl[1], elem)
                    if len(n.pipe.decl) > 1:
                        self.set_var(n.pipe.decl[0], key)
                else:
                    self.vars[-1][1] = elem
                    if len(n.pipe.decl) > 1:
                        self.vars[-2][1] = key
            try:
                self.walk(elem, n.body)
            except _Continue:
                pass
            except _Break:
                break
            finally:
                del self.vars[mark:]
        if not items and n.else_body is not None:
            self.walk(dot, n.else_body)

    def print_value(self, n, v) -> None:
        self.at(n)
        self.out.append(go_print(v, top=True) if v is not MISSING else "<no value>")

    # evaluation
    def eval_pipeline(self, dot, pipe: N.Pipe):
        self.at(pipe)
        value = NO_FINAL
        for cmd in pipe.cmds:
            value = self.eval_command(dot, cmd, value)
        for name in pipe.decl:
            if pipe.is_assign:
                self.set_var(name, value)
            else:
                self.push(name, value)
        return value

    def not_a_function(self, args, final) -> None:
        if len(args) > 1 or final is not NO_FINAL:
            self.errorf(f"can't give argument to non-function {args[0]}")

    def eval_command(self, dot, cmd: N.Command, final):
        first = cmd.args[0]
        if isinstance(first, N.Field):
            return self.eval_field_node(dot, first, cmd.args, final)
        if isinstance(first, N.Chain):
            return self.eval_chain(dot, first, cmd.args, final)
        if isinstance(first, N.Identifier):
            return self.eval_function(dot, first, cmd.args, final, cmd)
        if isinstance(first, N.Pipe):
            self.not_a_function(cmd.args, final)
            return self.eval_pipeline(dot, first)
        if isinstance(first, N.Variable):
            return self.eval_variable(dot, first, cmd.args, final)
        self.at(first)
        self.not_a_function(cmd.args, final)
        if isinstance(first, N.Bool):
            return first.value
        if isinstance(first, N.Dot):
            return dot
        if isinstance(first, N.Nil):
            self.errorf("nil is not a command")
        if isinstance(first, N.Number):
            return first.value
        if isinstance(first, N.String):
            return first.value
        self.errorf(f"can't evaluate command {first}")

    def eval_field_node(self, dot, field: N.Field, args, final):
        self.at(field)
        return self.eval_field_chain(dot, dot, field, field.idents, args, final)

    def eval_chain(self, dot, chain: N.Chain, args, final):
        if len(args) > 1:
            self.errorf(f"can't give argument to non-function {chain}")
        pipe = self.eval_arg(dot, "any", chain.node)
        return self.eval_field_chain(dot, pipe, chain, chain.fields, args, final)

    def eval_variable(self, dot, var: N.Variable, args, final):
        self.at(var)
        value = self.var(var.idents[0])
        if len(var.idents) == 1:
            self.not_a_function(args, final)
            return value
        return self.eval_field_chain(dot, value, var, var.idents[1:], args, final)

    def eval_field_chain(self, dot, receiver, node, idents, args, final):
        for name in idents[:-1]:
            receiver = self.eval_field(dot, name, node, [], NO_FINAL, receiver)
        return self.eval_field(dot, idents[-1], node, args, final, receiver)

    def eval_field(self, dot, name, node, args, final, receiver):
        if receiver is MISSING:
            if self.missing_key_error:
                self.errorf(f'nil data; no entry for key "{name}"')
            return MISSING
        if receiver is None:
            self.errorf(f"nil pointer evaluating interface {{}}.{name}")
        has_args = len(args) > 1 or final is not NO_FINAL
        if isinstance(receiver, GoStruct):
            if name in receiver.METHODS:
                return self.eval_call(dot, Func(getattr(receiver, name), ("string",)), name, node, args, final)
            if name in receiver.FIELDS:
                if has_args:
                    self.errorf(f"wrong number of args for {name}: want 0 got {len(args) - 1 + (final is not NO_FINAL)}")
                return receiver.go_field(name)
            self.errorf(f"can't evaluate field {name} in type {receiver.GO_TYPE}")
        if isinstance(receiver, dict):
            method = getattr(receiver, "GO_METHODS", {}).get(name)
            if method is not None:
                return self.eval_call(dot, method, name, node, args, final)
            if has_args:
                self.errorf(f"{name} is not a method but has arguments")
            if name in receiver:
                return receiver[name]
            if self.missing_key_error:
                self.errorf(f'map has no entry for key "{name}"')
            return MISSING
        self.errorf(f"can't evaluate field {name} in type interface {{}}")

    def eval_function(self, dot, ident: N.Identifier, args, final, cmd=None):
        self.at(ident)
        fn = self.funcs.get(ident.name)
        if fn is None:
            self.errorf(f'"{ident.name}" is not a defined function')
        return self.eval_call(dot, fn, ident.name, cmd or ident, args, final)

    def eval_call(self, dot, fn: Func, name, node, args, final):
        arg_nodes = args[1:]
        nargs = len(arg_nodes) + (final is not NO_FINAL)
        want = len(fn.params)
        if fn.variadic is not None:
            if nargs < want:
                self.errorf(f"wrong number of args for {name}: want at least {want} got {nargs}")
        elif nargs != want:
            self.errorf(f"wrong number of args for {name}: want {want} got {nargs}")

        def ptype(i):
            return fn.params[i] if i < want else fn.variadic

        if fn.lazy:  # and/or: each argument evaluated only when needed
            def thunk(i: int, n: Any) -> Callable[[], Any]:
                return lambda: self.eval_arg(dot, ptype(i), n)
            thunks = [thunk(i, n) for i, n in enumerate(arg_nodes)]
            if final is not NO_FINAL:
                thunks.append(lambda: final)
            vals = thunks
        else:
            vals = [self.eval_arg(dot, ptype(i), n) for i, n in enumerate(arg_nodes)]
            if final is not NO_FINAL:  # located where Go is: the last node evaluated
                vals.append(self.validate(final, ptype(len(arg_nodes))))
        self.at(node)
        try:
            return fn.impl(*vals)
        except FuncError as e:
            self.at(node)
            self.errorf(f"error calling {name}: {e}")

    def validate(self, v, t: str):
        if v is MISSING:
            if t in ("any", "[]string"):
                return None
            self.errorf(f"invalid value; expected {t}")
        if not _type_ok(v, t):
            self.errorf(f"wrong type for value; expected {t}; got {'interface {}' if v is None else go_type(v)}")
        return v

    def eval_arg(self, dot, t: str, n):
        self.at(n)
        if isinstance(n, N.Dot):
            return self.validate(dot, t)
        if isinstance(n, N.Nil):
            if t in ("any", "[]string"):
                return None
            self.errorf(f"cannot assign nil to {t}")
        if isinstance(n, N.Field):
            return self.validate(self.eval_field_node(dot, n, [n], NO_FINAL), t)
        if isinstance(n, N.Variable):
            return self.validate(self.eval_variable(dot, n, [n], NO_FINAL), t)
        if isinstance(n, N.Pipe):
            return self.validate(self.eval_pipeline(dot, n), t)
        if isinstance(n, N.Identifier):
            return self.validate(self.eval_function(dot, n, [n], NO_FINAL), t)
        if isinstance(n, N.Chain):
            return self.validate(self.eval_chain(dot, n, [], NO_FINAL), t)
        if t == "any":
            return n.value
        if t == "string":
            if isinstance(n, N.String):
                return n.value
            self.errorf(f"expected string; found {n}")
        if t == "int":
            if isinstance(n, N.Number) and isinstance(n.value, int):
                return n.value
            if isinstance(n, N.Number) and isinstance(n.value, float) and n.value.is_integer() \
                    and "." not in n.text:
                return int(n.value)
            self.errorf(f"expected integer; found {n}")
        if t == "bool":
            if isinstance(n, N.Bool):
                return n.value
            self.errorf(f"expected bool; found {n}")
        self.errorf(f"can't handle {n} for arg of type {t}")


def execute(tree: list, text: str, data, funcs: dict, name: str = "", missing_key_error: bool = False,
            defs: dict | None = None) -> str:
    s = State(text, name, funcs, missing_key_error)
    s.defs = defs or {}
    data = MISSING if data is None else data  # Go's Execute(w, nil): dot is the invalid value
    s.push("$", data)
    try:
        s.walk(data, tree)
    except (_Break, _Continue):  # the parser allows these only inside range
        pass
    return "".join(s.out)
