"""One meaning per class name under sampan/: two classes of one name (the runtime's
record and the engine's, say) make every import and traceback ambiguous."""

import ast
from collections import defaultdict
from pathlib import Path

import sampan

ROOT = Path(sampan.__file__).parent


def class_definitions(root: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ClassDef):
                found[node.name].append(str(path.relative_to(root.parent)))
    return found


def test_no_class_name_is_defined_twice():
    twice = {name: paths for name, paths in class_definitions(ROOT).items() if len(paths) > 1}
    assert twice == {}, f"rename one of each: {twice}"


def test_the_check_sees_a_duplicate(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "a").mkdir(parents=True)
    (pkg / "a" / "m.py").write_text("class Record:\n    pass\n")
    (pkg / "b.py").write_text("def f():\n    class Record:\n        pass\n")
    assert class_definitions(pkg)["Record"] == ["pkg/a/m.py", "pkg/b.py"]
