"""The shape of the code a newcomer reads: every import of a project module at the top of
its module (none hidden in a function to dodge a loop or to save start-up time), and no
module over 600 lines (one that long usually holds several concerns)."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("monitor", "alerts", "raqib")
MAX_LINES = 600
# Split on their own branches; each entry goes when its split is merged (the test says so).
BEING_SPLIT: set[str] = set()  # modules over the limit while a split is under way


def _modules() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def _project_import(node: ast.Import | ast.ImportFrom) -> bool:
    if isinstance(node, ast.ImportFrom):
        return node.level > 0 or (node.module or "").split(".")[0] in PACKAGES
    return any(alias.name.split(".")[0] in PACKAGES for alias in node.names)


def function_level_imports(source: str) -> list[int]:
    """Lines of the imports of a project module made inside a function or method."""
    lines = set()
    for fn in ast.walk(ast.parse(source)):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            lines.update(node.lineno for node in ast.walk(fn)
                         if isinstance(node, (ast.Import, ast.ImportFrom)) and _project_import(node))
    return sorted(lines)


def test_the_walk_finds_imports_in_functions_and_methods_only() -> None:
    source = ("import monitor.models\nfrom .x import y\n\n"
              "def f():\n    import json\n    from monitor.store import Store\n\n"
              "class C:\n    async def m(self):\n        if True:\n            from .errors import E\n"
              "    def n(self):\n        import alerts.render as r\n")
    assert function_level_imports(source) == [6, 11, 13]


def test_no_project_module_is_imported_inside_a_function() -> None:
    found = [f"{path.relative_to(ROOT)}:{line}" for path in _modules()
             for line in function_level_imports(path.read_text(encoding="utf-8"))]
    assert not found, "import these at the top of their module: " + ", ".join(found)


def test_no_module_is_over_600_lines() -> None:
    long = {str(path.relative_to(ROOT)): n for path in _modules()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long.keys() - BEING_SPLIT, f"split by concern (over {MAX_LINES} lines): {long}"
    assert not BEING_SPLIT - long.keys(), f"split now, take them out of BEING_SPLIT: {BEING_SPLIT - long.keys()}"
