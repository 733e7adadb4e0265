"""What several commands share: which config file they read, and their input stream."""
from __future__ import annotations

import argparse
import os
import sys
from typing import TextIO

from monitor.errors import ConfigError

DEFAULT_CONFIG = "raqib.yaml"


def config_path(args: argparse.Namespace) -> str:
    if getattr(args, "config", None):
        return args.config
    env = os.environ.get("RAQIB_CONFIG")
    if env:
        return env
    return DEFAULT_CONFIG


class open_input:
    """A named file, or stdin for '-' or nothing; read as UTF-8."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self.handle: TextIO | None = None

    def __enter__(self) -> TextIO:
        if not self.path or self.path == "-":
            sys.stdin.reconfigure(encoding="utf-8")  # type: ignore[union-attr]
            return sys.stdin
        try:
            self.handle = open(self.path, encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read input: {exc.strerror}", file=self.path) from None
        return self.handle

    def __exit__(self, *exc: object) -> None:
        if self.handle:
            self.handle.close()
