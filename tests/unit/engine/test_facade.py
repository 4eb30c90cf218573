"""The CLI sees the engine only through its facade: Engine, its subject facades, options
and reports. (pyproject's import-linter contract checks imports; this also catches
reaching through an attribute, such as `engine.ctx.volumes`.)"""

import ast
from pathlib import Path

import sampan.cli

ALLOWED_ENGINE_MODULES = {"sampan.engine", "sampan.engine.engine", "sampan.engine.options",
                          "sampan.engine.reports", "sampan.engine.attach"}
ENGINE_INTERNALS = {"ctx", "_manager", "_usage", "_in_use"}


def _cli_files():
    root = Path(sampan.cli.__file__).parent
    return sorted(root.rglob("*.py"))


def _violations(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Attribute) and node.attr in ENGINE_INTERNALS:
            found.append(f"{path.name}:{node.lineno}: .{node.attr}")
        names = []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names
                                     if node.module == "sampan.engine"]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and node.value.startswith("sampan.engine."):
            names = [node.value]  # __import__/importlib by name
        for name in names:
            if name.startswith("sampan.engine") and name not in ALLOWED_ENGINE_MODULES \
                    and name not in ("sampan.engine.Engine", "sampan.engine.RunOptions",
                                     "sampan.engine.ExecOptions"):
                found.append(f"{path.name}:{node.lineno}: {name}")
    return found


def test_cli_never_reaches_past_the_facade():
    # zygote.py names engine modules only to import them ahead (its preload list)
    found = [v for f in _cli_files() if f.name != "zygote.py" for v in _violations(f)]
    assert found == []


def test_the_check_catches_a_reach(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from sampan.engine.views import ps_row\n"
                   "def f(engine):\n    return engine.ctx.volumes.list()\n")
    assert len(_violations(bad)) == 2
