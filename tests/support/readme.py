"""The README as tests read it: the configuration reference's yaml block."""
from __future__ import annotations

import re
from pathlib import Path

import yaml

README = Path(__file__).resolve().parents[2] / "README.md"


def reference_block() -> str:
    """The text of the yaml block under "## Configuration reference"."""
    section = README.read_text(encoding="utf-8").split("## Configuration reference", 1)[1]
    found = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert found, "the README's configuration reference is a yaml block"
    return found.group(1)


def reference() -> dict:
    """The configuration reference, loaded."""
    return yaml.safe_load(reference_block())
