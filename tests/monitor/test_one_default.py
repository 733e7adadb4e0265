"""One name, one default: every option's default is written once, in `monitor.settings`.

The test reads every module of the product (monitor, alerts, raqib) and every settings-
taking constructor, function and dataclass in them, and fails on:
- a parameter or field named like an option whose default is a number, text or switch
  written out (not read from the settings) and equal to that option's default: a second
  copy, which drifts the day one of them changes;
- a parameter or field under an option's old name (`backoff_base`, `update_throttle`):
  components take the settings objects as they are, no renaming;
- a default settings object built with arguments (`DeliverySettings(burst=3)`): a second
  set of defaults.
The dedup stage's own dataclasses (`DedupSettings`, `EventSettings`), whose defaults
`OPTIONS` reads, are the declaration itself.
"""
from __future__ import annotations

import ast
import dataclasses
import inspect
from pathlib import Path

import monitor.settings as settings_module
from alerts.outbox import Deliverer
from monitor.dedup import DedupSettings, EventSettings
from monitor.pipeline import Pipeline
from monitor.poller import Poller
from monitor.reading import ArticleQueue
from monitor.settings import OPTIONS, Settings

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("monitor", "alerts", "raqib")
DECLARED_ELSEWHERE = {DedupSettings.__name__, EventSettings.__name__}  # read by OPTIONS, not copied
RENAMED = {"backoff_base": "delivery.backoff", "update_throttle": "delivery.update_every"}
SETTINGS_CLASSES = {type(getattr(Settings(), f.name)).__name__ for f in dataclasses.fields(Settings)}


def _defaults() -> dict[str, list[tuple[str, object]]]:
    out: dict[str, list[tuple[str, object]]] = {}
    for section, options in OPTIONS.items():
        for option in options:
            out.setdefault(option.key, []).append((f"{section}.{option.key}", option.default))
    return out


def _literal(node: ast.expr) -> tuple[bool, object]:
    """(True, value) when `node` is a value written out: constants and arithmetic on them."""
    if any(isinstance(n, (ast.Name, ast.Attribute, ast.Call)) for n in ast.walk(node)):
        return False, None
    try:
        return True, eval(compile(ast.Expression(node), "<default>", "eval"), {"__builtins__": {}})  # noqa: S307
    except Exception:
        return False, None


def _named_defaults(tree: ast.Module):
    """(line, owner, name, default) of every parameter default and dataclass field default."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for stmt in node.body:
                if isinstance(stmt, ast.AnnAssign) and stmt.value is not None and isinstance(stmt.target, ast.Name):
                    yield stmt.lineno, node.name, stmt.target.id, stmt.value
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            a = node.args
            positional = a.posonlyargs + a.args
            pairs = list(zip(positional[len(positional) - len(a.defaults):], a.defaults, strict=True))
            pairs += [(k, d) for k, d in zip(a.kwonlyargs, a.kw_defaults, strict=True) if d is not None]
            for arg, default in pairs:
                yield node.lineno, node.name, arg.arg, default


def _modules() -> list[Path]:
    found = [p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))]
    assert len(found) > 50, found  # the walk found the product
    return [p for p in found if p != Path(settings_module.__file__).resolve()]


def test_no_option_default_is_written_outside_settings():
    defaults = _defaults()
    problems = []
    for path in _modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        where = path.relative_to(ROOT)
        for line, owner, name, default in _named_defaults(tree):
            if owner in DECLARED_ELSEWHERE:
                continue
            if name in RENAMED:
                problems.append(f"{where}:{line} {owner}({name}): the option is {RENAMED[name]}")
                continue
            if (isinstance(default, ast.Call) and isinstance(default.func, ast.Name)
                    and default.func.id in SETTINGS_CLASSES and (default.args or default.keywords)):
                problems.append(f"{where}:{line} {owner}({name}={ast.unparse(default)}): "
                                f"a second set of defaults; take the settings object as it is")
                continue
            written, value = _literal(default)
            if not written or value is None or isinstance(value, str) and not value:
                continue
            for key, option_default in defaults.get(name, ()):
                if value == option_default and type(value) is not bool or value is option_default:
                    problems.append(f"{where}:{line} {owner}({name}={ast.unparse(default)}): a second default "
                                    f"of {key}; read it from monitor.settings")
    assert not problems, "\n".join(problems)


def test_the_walk_finds_a_copy():
    """The check above is no tautology: the copies it was written against are found."""
    tree = ast.parse("class DeliverySettings:\n    backoff_max: float = 3600.0\n"
                     "def poller(*, parse_deadline: float = 60.0, settings=PollSettings(interval=5)): ...\n")
    found = {(name, _literal(d)) for _line, _owner, name, d in _named_defaults(tree)}
    assert ("backoff_max", (True, 3600.0)) in found
    assert ("parse_deadline", (True, 60.0)) in found
    assert ("settings", (False, None)) in found
    assert dict(_defaults())["parse_deadline"] == [("poll.parse_deadline", 60.0)]


def test_components_take_the_settings_objects_as_they_are():
    """Every settings-taking constructor's default is its section's defaults, untouched."""
    sections = {type(getattr(Settings(), f.name)): getattr(Settings(), f.name) for f in dataclasses.fields(Settings)}
    seen = 0
    for component in (Poller, Deliverer, Pipeline, ArticleQueue):
        for parameter in inspect.signature(component).parameters.values():
            default = parameter.default
            if type(default) in sections:
                assert default == sections[type(default)], (component.__name__, parameter.name)
                seen += 1
    assert seen >= 6


def test_every_option_is_a_field_of_its_section():
    """OPTIONS and the dataclasses name the same options (a key added to one is in the other)."""
    fields = {name: {f.name for f in dataclasses.fields(type(getattr(Settings(), name)))}
              for name in ("poll", "delivery", "health", "retention", "metrics", "node", "web", "fulltext")}
    for name, keys in fields.items():
        assert keys == {o.key for o in OPTIONS[name]}, name
