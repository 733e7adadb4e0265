"""The config file (`raqib.yaml`): what to watch, where state lives, which channels speak.

Rules:
- Relative paths (database, watchlists) are relative to the config file's folder.
- `${VAR}` anywhere in a string reads the environment; `${VAR:-default}` gives a default.
  A missing variable without default is an error naming the line. Values read this way
  are secrets as far as logging goes.
- Durations are numbers of seconds or strings like `90s`, `5m`, `2h`, `3d`.
- Unknown top-level keys, duplicate feed names and malformed feeds are errors naming the
  line; channel sections are validated by their channel.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from .errors import ConfigError
from .yamlfile import YDict, YList, line_of, load_yaml

TOP_LEVEL_KEYS = {
    "database", "watchlists", "feeds", "channels", "poll", "dedup", "delivery",
    "retention", "health", "metrics", "log", "allow_private_feeds",
}
FEED_KEYS = {"name", "url", "interval", "enabled", "title"}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
_UNITS = {None: 1.0, "ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib)?\s*$", re.I)
_SIZE_UNITS = {None: 1, "b": 1, "kb": 1000, "kib": 1024, "mb": 10**6, "mib": 2**20,
               "gb": 10**9, "gib": 2**30}
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def parse_duration(value: Any, *, file: str | None = None, line: int | None = None,
                   what: str = "duration") -> float:
    """Seconds in `value` (a number or '90s', '5m', '2h', '3d', '1w')."""
    if isinstance(value, bool):
        raise ConfigError(f"{what}: expected a duration like 5m, got {value!r}", file=file, line=line)
    if isinstance(value, (int, float)):
        if value < 0:
            raise ConfigError(f"{what}: must not be negative", file=file, line=line)
        return float(value)
    m = _DURATION.match(str(value))
    if not m:
        raise ConfigError(f"{what}: expected a duration like 90s, 5m, 2h or 3d, got {value!r}",
                          file=file, line=line)
    return float(m.group(1)) * _UNITS[m.group(2)]


def parse_size(value: Any, *, file: str | None = None, line: int | None = None,
               what: str = "size") -> int:
    """Bytes in `value` (a number or '10MB', '512KiB')."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    m = _SIZE.match(str(value))
    if not m:
        raise ConfigError(f"{what}: expected a size like 10MB, got {value!r}", file=file, line=line)
    unit = m.group(2).lower() if m.group(2) else None
    return int(float(m.group(1)) * _SIZE_UNITS[unit])


def expand_env(value: Any, *, file: str, line: int, env: Mapping[str, str]) -> Any:
    """Replace ${VAR} in strings, recursively, keeping line information."""
    if isinstance(value, str):
        def sub(m: re.Match[str]) -> str:
            name, default = m.group(1), m.group(2)
            if name in env:
                return env[name]
            if default is not None:
                return default
            raise ConfigError(f"environment variable {name} is not set", file=file, line=line)
        return _ENV.sub(sub, value)
    if isinstance(value, YDict):
        out = YDict()
        out.line = value.line
        for k, v in value.items():
            out[k] = expand_env(v, file=file, line=value.line_of(k), env=env)
            out.key_lines[k] = value.line_of(k)
        return out
    if isinstance(value, YList):
        out_list = YList(expand_env(v, file=file, line=value.line_of(i), env=env)
                         for i, v in enumerate(value))
        out_list.line = value.line
        out_list.item_lines = list(value.item_lines)
        return out_list
    return value


@dataclass(frozen=True)
class FeedConfig:
    name: str
    url: str
    interval: float | None = None
    enabled: bool = True
    line: int = 0


@dataclass(frozen=True)
class Section:
    """One config section: its values and where they were written, for error messages."""

    values: Mapping[str, Any]
    file: str
    line: int = 0

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def line_of(self, key: str) -> int:
        v = self.values
        return v.line_of(key) if isinstance(v, YDict) else self.line

    def duration(self, key: str, default: float) -> float:
        if key not in self.values:
            return default
        return parse_duration(self.values[key], file=self.file, line=self.line_of(key), what=key)

    def size(self, key: str, default: int) -> int:
        if key not in self.values:
            return default
        return parse_size(self.values[key], file=self.file, line=self.line_of(key), what=key)

    def number(self, key: str, default: float) -> float:
        if key not in self.values:
            return default
        value = self.values[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key}: expected a number, got {value!r}",
                              file=self.file, line=self.line_of(key))
        return value

    def error(self, message: str, key: str | None = None) -> ConfigError:
        return ConfigError(message, file=self.file, line=self.line_of(key) if key else self.line)


@dataclass(frozen=True)
class Config:
    path: str
    database: Path
    watchlists: Path
    feeds: tuple[FeedConfig, ...]
    sections: Mapping[str, Section] = field(default_factory=dict)
    allow_private_feeds: bool = False

    def section(self, name: str) -> Section:
        return self.sections.get(name) or Section({}, self.path, 0)

    @property
    def channels(self) -> Mapping[str, Section]:
        raw = self.section("channels")
        out: dict[str, Section] = {}
        for name, values in raw.values.items():
            if values is None:
                values = YDict()
            out[name] = Section(values, self.path, line_of(values, raw.line_of(name)))
        return out


def load_config(path: str | Path, *, env: Mapping[str, str] | None = None) -> Config:
    """Read and validate the config file; raise ConfigError naming file and line."""
    path = Path(path)
    file = str(path)
    data = load_yaml(path)
    if data is None:
        data = YDict()
    if not isinstance(data, dict):
        raise ConfigError("the config must be a mapping of keys to values", file=file, line=line_of(data, 1))
    data = expand_env(data, file=file, line=1, env=os.environ if env is None else env)
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            raise ConfigError(f"unknown key {key!r} (known: {', '.join(sorted(TOP_LEVEL_KEYS))})",
                              file=file, line=data.line_of(key))
    base = path.resolve().parent

    def a_path(key: str, default: str) -> Path:
        value = data.get(key, default)
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{key}: expected a path", file=file, line=data.line_of(key))
        p = Path(value).expanduser()
        return p if p.is_absolute() else base / p

    feeds = _load_feeds(data.get("feeds") or YList(), file, data.line_of("feeds"))
    sections: dict[str, Section] = {}
    for key in TOP_LEVEL_KEYS - {"database", "watchlists", "feeds", "allow_private_feeds"}:
        value = data.get(key)
        if value is None:
            value = YDict()
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a mapping", file=file, line=data.line_of(key))
        sections[key] = Section(value, file, line_of(value, data.line_of(key)))
    for name, values in sections["channels"].values.items():
        if values is not None and not isinstance(values, dict):
            raise ConfigError(f"channels.{name}: expected a mapping", file=file,
                              line=sections["channels"].line_of(name))
    allow_private = data.get("allow_private_feeds", False)
    if not isinstance(allow_private, bool):
        raise ConfigError("allow_private_feeds: expected true or false", file=file,
                          line=data.line_of("allow_private_feeds"))
    return Config(path=file, database=a_path("database", "var/raqib.db"),
                  watchlists=a_path("watchlists", "watchlists"), feeds=feeds, sections=sections,
                  allow_private_feeds=allow_private)


def _load_feeds(raw: Any, file: str, line: int) -> tuple[FeedConfig, ...]:
    if not isinstance(raw, list):
        raise ConfigError("feeds: expected a list of {name, url}", file=file, line=line)
    feeds: list[FeedConfig] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(raw):
        item_line = raw.line_of(i) if isinstance(raw, YList) else line
        if not isinstance(item, dict):
            raise ConfigError("a feed must be a mapping with name and url", file=file, line=item_line)
        for key in item:
            if key not in FEED_KEYS:
                raise ConfigError(f"unknown feed key {key!r} (known: {', '.join(sorted(FEED_KEYS))})",
                                  file=file, line=item.line_of(key) if isinstance(item, YDict) else item_line)
        name, url = item.get("name"), item.get("url")
        if not isinstance(url, str) or not re.match(r"^https?://[^/\s]+", url):
            raise ConfigError(f"feed url must be an http(s) URL, got {url!r}", file=file, line=item_line)
        if name is None:
            name = re.sub(r"^https?://(www\.)?", "", url).split("/")[0]
        if not isinstance(name, str) or not name.strip():
            raise ConfigError("feed name must be a non-empty string", file=file, line=item_line)
        if name in seen:
            raise ConfigError(f"duplicate feed name {name!r} (first on line {seen[name]})",
                              file=file, line=item_line)
        seen[name] = item_line
        interval = None
        if "interval" in item:
            interval = parse_duration(item["interval"], file=file, line=item_line, what="interval")
        feeds.append(FeedConfig(name=name, url=url, interval=interval,
                                enabled=bool(item.get("enabled", True)), line=item_line))
    return tuple(feeds)
