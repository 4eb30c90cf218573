"""Go's text/template, as the docker CLI uses it for every --format (pure Python).

`Template(text)` parses (TemplateSyntaxError on bad syntax) and `.execute(data)` runs it
(TemplateExecError); `docker.py` adds Docker's conventions: `table`, `json`, headers."""

from __future__ import annotations

from sampan.cli.gotemplate.execute import MISSING, FuncError, TemplateExecError
from sampan.cli.gotemplate.gofmt import GoStruct, go_print
from sampan.cli.gotemplate.gojson import go_json
from sampan.cli.gotemplate.lexer import TemplateSyntaxError


class Template:
    def __init__(self, text: str, name: str = "", funcs=None):
        from sampan.cli.gotemplate.funcs import FUNCS
        from sampan.cli.gotemplate.parser import TemplateParser
        self.text, self.name = text, name
        self.funcs = FUNCS if funcs is None else funcs
        try:
            parser = TemplateParser(text, self.funcs)
            self.tree = parser.parse()
            self.defs = parser.defs
        except RecursionError:
            raise TemplateSyntaxError(f"template: {name}:1: too deeply nested") from None
        except TemplateSyntaxError as e:
            if name:
                raise TemplateSyntaxError(str(e).replace("template: :", f"template: {name}:", 1)) from None
            raise

    def execute(self, data, missing_key_error: bool = False, funcs=None) -> str:
        from sampan.cli.gotemplate.execute import execute
        try:
            return execute(self.tree, self.text, data, self.funcs if funcs is None else funcs, self.name,
                           missing_key_error, self.defs)
        except RecursionError:
            raise TemplateExecError(f"template: {self.name}: too deeply nested to execute") from None


__all__ = ["Template", "TemplateSyntaxError", "TemplateExecError", "FuncError", "GoStruct", "MISSING",
           "go_json", "go_print"]
