"""The README's "How to change Raqib" recipes hold by their shape: what each recipe says
a newcomer touches is all there is to touch.

- An option: declared once in monitor/settings.py (its section's dataclass field and its
  `OPTIONS` entry) is read by `raqib check` (a bad value named by file, line and key) and
  listed in the README's configuration reference.
- A channel: a module in alerts/ with one `Channel` subclass declaring its options, an
  entry in `REGISTRY`, its README reference, and its table-driven test file.
- A store query: a method of its table family's part (`store.feeds`, `store.outbox` …)
  that returns rows typed in monitor/store/rows.py (never a bare dict), with its SQL in
  monitor/store and nowhere else.
"""
from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import re
import subprocess
import sys
from pathlib import Path

import yaml

from alerts.channel import REGISTRY, Channel, ChannelOption
from monitor.settings import OPTIONS, SUBSECTIONS
from monitor.store import Store
from monitor.store import rows as store_rows
from monitor.store.part import Part
from tests.support import readme

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _reference() -> dict:
    return readme.reference()


def _path(name: str) -> tuple[str, ...]:
    """Where section `name` sits in raqib.yaml (`dedup.event` inside `dedup`)."""
    return SUBSECTIONS.get(name, (name,))


def test_the_readme_has_the_three_recipes():
    section = README.split("## How to change Raqib", 1)
    assert len(section) == 2, "the README has a 'How to change Raqib' section"
    text = section[1].split("\n## ", 1)[0]
    for recipe in ("### Add an option", "### Add a channel", "### Add a store query"):
        assert recipe in text
    for named in ("monitor/settings.py", "alerts/channel.py", "monitor/store/rows.py", "tests/test_recipes.py"):
        assert named in text


def test_an_option_declared_once_is_read_by_check_and_listed_in_the_readme(tmp_path):
    """Every option a wrong value at once: `raqib check` names each by file, line and key
    (nothing else had to be written for it), and the README's reference lists each."""
    config: dict = {"feeds": [], "watchlists": "wl"}
    for name, options in OPTIONS.items():
        section = config
        for part in _path(name):
            section = section.setdefault(part, {})
        for option in options:
            section[option.key] = [1, 2]  # of no option's kind
    (tmp_path / "wl").mkdir()
    path = tmp_path / "raqib.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    lines = path.read_text(encoding="utf-8").splitlines()
    done = subprocess.run([sys.executable, "-m", "raqib.cli", "check", "--config", str(path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    said = done.stdout + done.stderr
    reference = _reference()
    for name, options in OPTIONS.items():
        documented = reference
        for part in _path(name):
            documented = documented[part]
        for option in options:
            key = f"{name}.{option.key}"
            found = re.search(rf"raqib\.yaml:(\d+): {re.escape(key)}: ", said)
            assert found, f"raqib check does not name {key}"
            assert lines[int(found.group(1)) - 1].strip().startswith(f"{option.key}:"), key
            assert option.key in documented, f"the README's reference does not list {key}"


def test_a_channel_is_a_module_a_registry_entry_its_reference_and_a_test_file():
    reference = _reference()["channels"]
    for name, target in REGISTRY.items():
        module_name, _, class_name = target.partition(":")
        module = importlib.import_module(module_name)
        cls = getattr(module, class_name)
        assert issubclass(cls, Channel) and cls.name == name, target
        assert Path(inspect.getfile(cls)).resolve().is_relative_to(ROOT / "alerts"), target
        assert all(isinstance(o, ChannelOption) for o in cls.options), f"{name}: options are ChannelOptions"
        assert set(reference[name]) == {o.name for o in cls.options}, f"{name}: README reference"
        stem = module_name.rpartition(".")[2].removesuffix("_channel")
        assert (ROOT / "tests" / "alerts" / f"test_{stem}.py").exists(), f"{name}: tests/alerts/test_{stem}.py"


# raw JSON a destination's settings are kept as: the one honest mapping a part hands out
JSON_METHODS = {("SubscriptionTables", "settings"), ("SubscriptionTables", "update_settings")}
UNTYPED = re.compile(r"\b(dict|list|tuple)\b(?!\[)|\bAny\b")  # a bare container, or Any: columns by name


def test_a_store_query_is_a_method_of_its_part_returning_typed_rows():
    store = Store(memory=True)
    try:
        parts = {name: value for name, value in vars(store).items() if isinstance(value, Part)}
        assert {"feeds", "stories", "articles", "outbox", "subscriptions", "nodes"} <= set(parts)
        for attr, part in parts.items():
            cls = type(part)
            assert Path(inspect.getfile(cls)).parent == ROOT / "monitor" / "store", cls
            for name, method in inspect.getmembers(cls, inspect.isfunction):
                if name.startswith("_") or (cls.__name__, name) in JSON_METHODS or name not in vars(cls):
                    continue
                returns = inspect.signature(method).return_annotation
                assert returns is not inspect.Signature.empty, f"store.{attr}.{name} says what it returns"
                assert not UNTYPED.search(str(returns)), f"store.{attr}.{name} returns {returns}: a row type"
    finally:
        store.close()
    for row in vars(store_rows).values():
        if isinstance(row, type) and dataclasses.is_dataclass(row) and row.__module__ == store_rows.__name__:
            assert row.__dataclass_params__.frozen, f"{row.__name__} is frozen"


SQL = re.compile(r"^\s*(SELECT\b.*\bFROM\b|UPDATE\s+\w+\s+SET\b|INSERT\s+(OR\s+\w+\s+)?INTO\b|DELETE\s+FROM\b)",
                 re.S | re.I)


def test_sql_lives_in_the_store_alone():
    found = []
    for package in ("monitor", "alerts", "raqib"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if path.is_relative_to(ROOT / "monitor" / "store"):
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.match(node.value):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not found, f"SQL outside monitor/store: {found}"
