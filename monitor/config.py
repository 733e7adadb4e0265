"""The config file (`raqib.yaml`): what to watch, where state lives, which channels speak.

Rules:
- Relative paths (database, watchlists) are relative to the config file's folder.
- `${VAR}` anywhere in a string reads the environment; `${VAR:-default}` gives a default.
  A missing variable without default is an error naming the line. Values read this way
  are secrets as far as logging goes.
- Durations are numbers of seconds or strings like `90s`, `5m`, `2h`, `3d`; sizes bytes or
  strings like `10MB`. Both must be finite and not negative.
- Unknown top-level keys, duplicate feed names and malformed feeds are errors naming the
  line. A feed's `enabled` must be true or false; its `interval` lies within
  [`MIN_INTERVAL`, `MAX_INTERVAL`] (1 s to 7 days), like `poll.interval`. Its `fulltext`
  is one of auto (the default: read the page of an item that does not carry its article),
  always or never (`monitor.article.wants_article`).
- The options of the other sections (poll, dedup, delivery, health, retention, metrics, web, fulltext)
  are read and checked by `monitor.settings`; channel sections by their channel.
"""
from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .dburl import is_postgres
from .errors import ConfigError
from .yamlfile import YDict, YList, kind_of, line_of, load_yaml, shown

TOP_LEVEL_KEYS = {
    "database", "watchlists", "feeds", "channels", "poll", "dedup", "delivery",
    "retention", "health", "metrics", "node", "web", "allow_private_feeds", "fulltext",
}
MIN_INTERVAL = 1.0  # no feed is polled more often than once a second (poll.interval, a feed's interval)
MAX_INTERVAL = 7 * 86400.0
FEED_KEYS = {"name", "url", "interval", "enabled", "title", "fulltext"}
FULLTEXT_MODES = ("auto", "always", "never")  # a feed's fulltext: when its items' pages are read
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
_UNITS = {None: 1.0, "ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib)?\s*$", re.I)
_SIZE_UNITS = {None: 1, "b": 1, "kb": 1000, "kib": 1024, "mb": 10**6, "mib": 2**20,
               "gb": 10**9, "gib": 2**30}
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def as_float(value: int | float) -> float:
    """`value` as a float; an integer too large for one is infinite (YAML integers have no bound)."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def parse_duration(value: object, *, file: str | None = None, line: int | None = None,
                   what: str = "duration", low: float | None = None, high: float | None = None) -> float:
    """Seconds in `value` (a number or '90s', '5m', '2h', '3d', '1w'), finite, not negative,
    and within [`low`, `high`] when given."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ConfigError(f"{what}: expected a duration like 5m, got {shown(value)}", file=file, line=line)
    if isinstance(value, (int, float)):
        seconds = as_float(value)
    else:
        m = _DURATION.match(value)
        if not m:
            raise ConfigError(f"{what}: expected a duration like 90s, 5m, 2h or 3d, got {shown(value)}",
                              file=file, line=line)
        seconds = float(m.group(1)) * _UNITS[m.group(2)]
    return _within(seconds, value, "duration", format_duration, what=what, low=low, high=high,
                   file=file, line=line)


def _within(amount: float, value: object, noun: str, fmt: Callable[[Any], str], *, what: str,
            low: float | None, high: float | None, file: str | None, line: int | None) -> float:
    """`amount` (read from `value`) if finite, not negative and within [`low`, `high`]."""
    if not math.isfinite(amount):
        raise ConfigError(f"{what}: expected a finite {noun}, got {shown(value)}", file=file, line=line)
    if amount < 0:
        raise ConfigError(f"{what}: must not be negative, got {shown(value)}", file=file, line=line)
    if low is not None and amount < low:
        raise ConfigError(f"{what}: must be at least {fmt(low)}, got {shown(value)}", file=file, line=line)
    if high is not None and amount > high:
        raise ConfigError(f"{what}: must be at most {fmt(high)}, got {shown(value)}", file=file, line=line)
    return amount


def format_duration(seconds: float) -> str:
    """`seconds` the way a config file would write it: 1s, 90s, 5m, 2h, 7d."""
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("m", 60.0)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


def parse_size(value: object, *, file: str | None = None, line: int | None = None,
               what: str = "size", low: int | None = None, high: int | None = None) -> int:
    """Bytes in `value` (a number or '10MB', '512KiB'), finite, not negative, and within
    [`low`, `high`] when given."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ConfigError(f"{what}: expected a size like 10MB, got {shown(value)}", file=file, line=line)
    if isinstance(value, (int, float)):
        size = as_float(value)
    else:
        m = _SIZE.match(value)
        if not m:
            raise ConfigError(f"{what}: expected a size like 10MB, got {shown(value)}", file=file, line=line)
        unit = m.group(2).lower() if m.group(2) else None
        size = float(m.group(1)) * _SIZE_UNITS[unit]
    return int(_within(size, value, "size", format_size, what=what, low=low, high=high, file=file, line=line))


def format_size(size: int) -> str:
    """`size` bytes as a config file would write it: 1KiB, 10MiB, 1GiB, 500."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if size >= scale and size % scale == 0:
            return f"{size // scale}{unit}"
    return str(size)


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
    fulltext: str | None = None  # one of FULLTEXT_MODES; None: `fulltext.mode`
    title: str | None = None  # the outlet's name as people know it (else the feed's own <title>)


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
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(as_float(value)):
            raise ConfigError(f"{key}: expected a number, got {shown(value)}",
                              file=self.file, line=self.line_of(key))
        return value

    def error(self, message: str, key: str | None = None) -> ConfigError:
        return ConfigError(message, file=self.file, line=self.line_of(key) if key else self.line)


@dataclass(frozen=True)
class Config:
    path: str
    database: Path | str  # a SQLite file, or a postgresql:// URL (str)
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
            raise ConfigError(f"unknown key {shown(key)} (known: {', '.join(sorted(TOP_LEVEL_KEYS))})",
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
            raise ConfigError(f"{key}: expected a mapping, got {kind_of(value)}", file=file, line=data.line_of(key))
        sections[key] = Section(value, file, line_of(value, data.line_of(key)))
    for name, values in sections["channels"].values.items():
        if values is not None and not isinstance(values, dict):
            raise ConfigError(f"channels.{name}: expected a mapping, got {kind_of(values)}", file=file,
                              line=sections["channels"].line_of(name))
    allow_private = data.get("allow_private_feeds", False)
    if not isinstance(allow_private, bool):
        raise ConfigError("allow_private_feeds: expected true or false", file=file,
                          line=data.line_of("allow_private_feeds"))
    database: Path | str = data.get("database", "")
    if not is_postgres(database):  # a URL is the server's; a path is relative to this file
        database = a_path("database", "var/raqib.db")
    return Config(path=file, database=database,
                  watchlists=a_path("watchlists", "watchlists"), feeds=feeds, sections=sections,
                  allow_private_feeds=allow_private)


def _load_feeds(raw: object, file: str, line: int) -> tuple[FeedConfig, ...]:
    if not isinstance(raw, list):
        raise ConfigError(f"feeds: expected a list of {{name, url}}, got {kind_of(raw)}", file=file, line=line)
    feeds: list[FeedConfig] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(raw):
        item_line = raw.line_of(i) if isinstance(raw, YList) else line
        if not isinstance(item, dict):
            raise ConfigError(f"a feed must be a mapping with name and url, got {kind_of(item)}", file=file,
                              line=item_line)
        for key in item:
            if key not in FEED_KEYS:
                raise ConfigError(f"unknown feed key {shown(key)} (known: {', '.join(sorted(FEED_KEYS))})",
                                  file=file, line=item.line_of(key) if isinstance(item, YDict) else item_line)
        name, url = item.get("name"), item.get("url")
        if not isinstance(url, str) or not re.match(r"^https?://[^/\s]+", url):
            raise ConfigError(f"feed url must be an http(s) URL, got {shown(url)}", file=file, line=item_line)
        if name is None:
            name = re.sub(r"^https?://(www\.)?", "", url).split("/")[0]
        if not isinstance(name, str) or not name.strip():
            raise ConfigError("feed name must be a non-empty string", file=file, line=item_line)
        if name in seen:
            raise ConfigError(f"duplicate feed name {name!r} (first on line {seen[name]})",
                              file=file, line=item_line)
        seen[name] = item_line
        key_lines = item.key_lines if isinstance(item, YDict) else {}
        interval = None
        if "interval" in item:
            interval = parse_duration(item["interval"], file=file, line=key_lines.get("interval", item_line),
                                      what=f"feed {name}: interval", low=MIN_INTERVAL, high=MAX_INTERVAL)
        enabled = item.get("enabled", True)
        if not isinstance(enabled, bool):
            raise ConfigError(f"feed {name}: enabled: expected true or false, got {shown(enabled)}",
                              file=file, line=key_lines.get("enabled", item_line))
        title = item.get("title")
        if title is not None and not isinstance(title, str):
            raise ConfigError(f"feed {name}: title: expected text, got {kind_of(title)}", file=file,
                              line=key_lines.get("title", item_line))
        fulltext = item.get("fulltext")
        if fulltext is not None and fulltext not in FULLTEXT_MODES:
            raise ConfigError(f"feed {name}: fulltext: expected one of {', '.join(FULLTEXT_MODES)}, "
                              f"got {shown(fulltext)}", file=file, line=key_lines.get("fulltext", item_line))
        feeds.append(FeedConfig(name=name, url=url, interval=interval, enabled=enabled, line=item_line,
                                fulltext=fulltext, title=" ".join(title.split()) or None if title else None))
    return tuple(feeds)
