"""Settings: the options of raqib.yaml's poll, dedup (and dedup.event), delivery, health,
retention, metrics, web, node and fulltext sections, declared once as data and read into frozen dataclasses.

`read_settings(config)` is the one reading: the daemon calls it at start-up and on every
reload (a refused reload keeps the settings in force), and `raqib check` calls
`settings_problems(config)`, which runs the same reading and lists every problem instead
of stopping at the first. So `check` passes exactly what `run` accepts.

Rules (each problem is a ConfigError naming the file and the line of the key):
- Every option has a kind and a range, in `OPTIONS`, and one default: its field's in the
  section's frozen dataclass here (`PollSettings`, `DeliverySettings` …; dedup's thresholds
  are `DedupSettings`' own, dedup.event's `EventSettings`'), which `OPTIONS` reads. The
  components (poller, schedule, deliverer, pipeline, reading queue …) take these objects
  as they are: no copy, no renaming, no second default (`tests/test_one_default.py`).
  A key not in the table is an error that lists the known ones.
  `dedup.event` is a mapping inside `dedup` (`SUBSECTIONS`); anything else there is an
  error naming its line.
- Durations are seconds or `90s`, `5m`, `2h`, `3d`; sizes bytes or `10MB`; both must be
  finite and within the option's range. Whole numbers must be integers (not `4.5`, not
  `"4"`); numbers must be finite; switches must be `true` or `false` (the text `'false'`
  is refused, not read as a truthy string).
- Polling never runs more often than once a second (`interval`, `min_interval`),
  `concurrency` and `per_host` are at least 1, `timeout`, `deadline` and `parse_deadline`
  at least a second,
  `max_bytes` at least 1 KiB: values that would poll a publisher in a tight loop, never
  poll, or fail every feed are refused, not run.
- `fulltext` (reading the article page behind a new item, `monitor.article`): `mode` is
  auto, always or never (a feed's own `fulltext:` wins); `concurrency`
  and `per_host` at least 1, `timeout`, `deadline` and `extract_deadline` at least a
  second, `max_bytes` at least 1 KiB, `interval` (between two fetches to one host) from
  0 to 1 h, `wait` (how long a story waits for its page) from 0 to 1 h.
- `backfill` is from 0 (a new feed's backlog alerts nothing) and `max_age` at least a
  minute: old news is stored, never alerted (see `monitor.poller`).
- Cross-checks: `poll.min_interval` ≤ `poll.max_interval`; `delivery.backoff` ≤
  `delivery.backoff_max`. As before, the default interval pulls `min_interval` down and
  `max_interval` up to itself, so a short `interval` stands.
- `node.name` is at most 64 visible characters without spaces (default: host:pid).
- `metrics.listen` is `HOST:PORT` (or a port alone, on 127.0.0.1), PORT 1-65535, HOST a
  loopback address unless `metrics.allow_remote: true`.
- `web.tz` is an IANA zone name (Asia/Riyadh): the web view's times and days are in it.
- `web.listen` is read the same way (the web view is off without it). `web.auth` is
  `token:SECRET` (SECRET at least 16 characters) or a password hash
  `scrypt:N:r:p:SALT:HASH` or `pbkdf2_sha256:ITERATIONS:SALT:HASH` (salt and hash in
  hex, as `raqib web password` prints them; N a power of two from 2^10 to 2^20,
  iterations from 100,000); unset in the file, it is read from RAQIB_WEB_AUTH, then
  from the systemd credential `web_auth`. A `web.listen` that is not a loopback
  address without `web.auth` is refused, naming `web.auth`.
- A reload applies `RELOADABLE` (`web.auth`) at once; every other changed setting is
  named by `changed_settings` and waits for a restart.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .config import (
    FULLTEXT_MODES,
    MAX_INTERVAL,
    MIN_INTERVAL,
    Config,
    Section,
    as_float,
    format_duration,
    parse_duration,
    parse_size,
)
from .dedup import DedupSettings, EventSettings
from .errors import ConfigError
from .webauth import WEB_AUTH_CREDENTIAL, WEB_AUTH_ENV, WebAuth, auth_from_environment, parse_web_auth
from .yamlfile import YDict, kind_of, line_of, shown

MINUTE, HOUR, DAY = 60.0, 3600.0, 86400.0
LOOPBACK = ("127.0.0.1", "::1", "localhost")
NAME_MAX = 64  # node.name


@dataclass(frozen=True)
class Option:
    """One option: its key, kind (duration, size, int, number, bool, listen, name, auth, path,
    choice, zone), default and range (or, for a choice, the words it may be)."""

    key: str
    kind: str
    default: Any
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class FulltextSettings:
    """fulltext: how the article page behind a new item is read (`monitor.article`).
    Its defaults are the options' defaults (OPTIONS reads them from here)."""

    mode: str = "auto"  # a feed's fulltext when it says none: auto | always | never
    concurrency: int = 8  # pages fetched at once
    per_host: int = 1  # pages fetched at once from one host
    interval: float = 2.0  # seconds between the starts of two fetches to one host
    max_bytes: int = 2 * 2**20  # a page's size cap, after decompression
    timeout: float = 15.0  # connect/read timeout
    deadline: float = 30.0  # the whole fetch of one page (redirects, headers, body)
    wait: float = 60.0  # how long a story waits for its page before it is matched on the feed's text
    robots: bool = True  # honour robots.txt
    extract_deadline: float = 10.0  # extracting one page's text, in a parse worker killed after it


@dataclass(frozen=True)
class PollSettings:
    """poll: how feeds are fetched and scheduled (`monitor.poller`, `monitor.schedule`)."""

    interval: float = 300.0
    min_interval: float = 60.0
    max_interval: float = 3600.0
    adaptive: bool = True
    respect_ttl: bool = True
    concurrency: int = 50
    per_host: int = 4
    timeout: float = 20.0
    deadline: float = 60.0
    parse_deadline: float = 60.0
    max_bytes: int = 10 * 2**20
    lease: float = 300.0  # PostgreSQL: a polled feed is this node's for this long (a dead node's come back after it)
    parse_workers: int = 0  # worker processes parsing feeds; 0: twice the CPUs, 2 to 8
    backfill: float = 0.0  # a feed's first poll alerts items published this long before it (0: none)
    max_age: float = 2 * DAY  # an item published longer ago than this is stored, never alerted
    max_new_items: int = 500  # new items taken from one feed per poll; the rest wait for the next polls


@dataclass(frozen=True)
class DeliverySettings:
    """delivery: how the outbox is drained (`alerts.outbox`)."""

    max_attempts: int = 10
    backoff: float = 30.0  # the first retry's longest delay; doubled each attempt, up to backoff_max
    backoff_max: float = HOUR
    burst: int = 10  # more due alerts than this for one destination → one digest
    update_every: float = 600.0  # at most one edit of a cluster's first message this often
    lease: float = 300.0  # PostgreSQL: a claimed alert is this node's for this long (a dead node's are sent after it)


@dataclass(frozen=True)
class HealthSettings:
    """health: when a feed is unhealthy (`monitor.poller`)."""

    failures: int = 5  # consecutive failures that make a feed unhealthy
    silence_factor: float = 10.0  # no new item for this many average intervals → unhealthy
    min_silence: float = DAY  # ... and never sooner than this


@dataclass(frozen=True)
class RetentionSettings:
    stories: float = 30 * DAY
    outbox: float = 30 * DAY


@dataclass(frozen=True)
class MetricsSettings:
    listen: str | None = None  # "HOST:PORT" ready for the server, or None: no metrics endpoint
    allow_remote: bool = False


@dataclass(frozen=True)
class NodeSettings:
    name: str | None = None  # None: host:pid
    role_retry: float = 5.0  # a node without a role tries to take it this often
    heartbeat: float = 10.0  # how often the node writes its row in `nodes` (for status, not for roles)


@dataclass(frozen=True)
class WebSettings:
    listen: str | None = None  # "HOST:PORT", or None: no web view
    auth: WebAuth | None = None
    tz: str | None = None  # the zone the pages show times in (IANA name); None: UTC


@dataclass(frozen=True)
class SnapshotSettings:
    path: str | None = None  # dedup.snapshot: None = the default place (monitor.indexes.snapshot_path), "off"
    every: float = 10 * MINUTE  # dedup.snapshot_every: seconds between snapshots while running


@dataclass(frozen=True)
class Settings:
    """Every section's settings; `Settings()` is the defaults."""

    poll: PollSettings = PollSettings()
    dedup: DedupSettings = DedupSettings()
    delivery: DeliverySettings = DeliverySettings()
    health: HealthSettings = HealthSettings()
    retention: RetentionSettings = RetentionSettings()
    metrics: MetricsSettings = MetricsSettings()
    node: NodeSettings = NodeSettings()
    web: WebSettings = WebSettings()
    event: EventSettings = EventSettings()  # dedup.event: the event level
    fulltext: FulltextSettings = FulltextSettings()
    snapshot: SnapshotSettings = SnapshotSettings()  # dedup.snapshot, dedup.snapshot_every


# The defaults, read from the dataclasses above (and the dedup stage's own): written nowhere else.
_POLL, _DELIVERY, _HEALTH, _RETENTION = PollSettings(), DeliverySettings(), HealthSettings(), RetentionSettings()
_METRICS, _NODE, _WEB, _SNAPSHOT = MetricsSettings(), NodeSettings(), WebSettings(), SnapshotSettings()
_DEDUP_DEFAULTS, _EVENT_DEFAULTS, _FULLTEXT_DEFAULTS = DedupSettings(), EventSettings(), FulltextSettings()

OPTIONS: dict[str, tuple[Option, ...]] = {
    "poll": (
        Option("interval", "duration", _POLL.interval, MIN_INTERVAL, MAX_INTERVAL),
        Option("min_interval", "duration", _POLL.min_interval, MIN_INTERVAL, MAX_INTERVAL),
        Option("max_interval", "duration", _POLL.max_interval, MIN_INTERVAL, 30 * DAY),
        Option("adaptive", "bool", _POLL.adaptive),
        Option("respect_ttl", "bool", _POLL.respect_ttl),
        Option("concurrency", "int", _POLL.concurrency, 1, 10_000),
        Option("per_host", "int", _POLL.per_host, 1, 1_000),
        Option("timeout", "duration", _POLL.timeout, 1.0, HOUR),
        Option("deadline", "duration", _POLL.deadline, 1.0, HOUR),
        Option("parse_deadline", "duration", _POLL.parse_deadline, 1.0, HOUR),
        Option("max_bytes", "size", _POLL.max_bytes, 1024, 2**30),
        Option("lease", "duration", _POLL.lease, 1.0, DAY),
        Option("parse_workers", "int", _POLL.parse_workers, 0, 64),
        Option("backfill", "duration", _POLL.backfill, 0.0, 100 * 365 * DAY),
        Option("max_age", "duration", _POLL.max_age, MINUTE, 100 * 365 * DAY),
        Option("max_new_items", "int", _POLL.max_new_items, 1, 100_000),
    ),
    "dedup": (
        Option("window", "duration", _DEDUP_DEFAULTS.window_hours * HOUR, MINUTE, 30 * DAY),
        Option("title_alone", "number", _DEDUP_DEFAULTS.title_alone, 0, 100),
        Option("lead_floor", "number", _DEDUP_DEFAULTS.lead_floor, 0, 100),
        Option("lead_alone", "number", _DEDUP_DEFAULTS.lead_alone, 0, 100),
        Option("title_floor", "number", _DEDUP_DEFAULTS.title_floor, 0, 100),
        Option("combined", "number", _DEDUP_DEFAULTS.combined, 0, 100),
        Option("title_sure", "number", _DEDUP_DEFAULTS.title_sure, 0, 100),
        Option("subset_ratio", "number", _DEDUP_DEFAULTS.subset_ratio, 0, 1),
        Option("numbers_overlap", "number", _DEDUP_DEFAULTS.numbers_overlap, 0, 1),
        Option("lead_words", "int", _DEDUP_DEFAULTS.lead_words, 1, 1_000),
        Option("title_sure_words", "int", _DEDUP_DEFAULTS.title_sure_words, 1, 100),
        Option("title_bands", "int", _DEDUP_DEFAULTS.title_bands, 1, 32),
        Option("title_rows", "int", _DEDUP_DEFAULTS.title_rows, 1, 8),
        Option("lead_bands", "int", _DEDUP_DEFAULTS.lead_bands, 1, 32),
        Option("lead_rows", "int", _DEDUP_DEFAULTS.lead_rows, 1, 8),
        Option("bucket_cap", "int", _DEDUP_DEFAULTS.bucket_cap, 1, 10_000),
        Option("max_candidates", "int", _DEDUP_DEFAULTS.max_candidates, 1, 10_000),
        Option("snapshot", "path", _SNAPSHOT.path),
        Option("snapshot_every", "duration", _SNAPSHOT.every, MINUTE, DAY),
    ),
    "dedup.event": (
        Option("window", "duration", _EVENT_DEFAULTS.window_hours * HOUR, MINUTE, 30 * DAY),
        Option("threshold", "number", _EVENT_DEFAULTS.threshold, 0, 1),
        Option("title_floor", "number", _EVENT_DEFAULTS.title_floor, 0, 1),
        Option("title_weight", "int", _EVENT_DEFAULTS.title_weight, 1, 10),
        Option("summary_words", "int", _EVENT_DEFAULTS.summary_words, 0, 1_000),
        Option("min_terms", "int", _EVENT_DEFAULTS.min_terms, 1, 100),
        Option("index_terms", "int", _EVENT_DEFAULTS.index_terms, 1, 100),
        Option("posting_cap", "int", _EVENT_DEFAULTS.posting_cap, 1, 10_000),
        Option("min_shared", "int", _EVENT_DEFAULTS.min_shared, 1, 100),
        Option("max_candidates", "int", _EVENT_DEFAULTS.max_candidates, 1, 10_000),
        Option("copy_window", "duration", _EVENT_DEFAULTS.copy_hours * HOUR, MINUTE, 30 * DAY),
        Option("body_words", "int", _EVENT_DEFAULTS.body_words, 0, 1_000),
        Option("decay", "number", _EVENT_DEFAULTS.decay, 0, 1),
        Option("decay_window", "duration", _EVENT_DEFAULTS.decay_hours * HOUR, MINUTE, 30 * DAY),
        Option("min_common", "int", _EVENT_DEFAULTS.min_common, 1, 100),
        Option("places", "bool", _EVENT_DEFAULTS.places),
        Option("idf_power", "number", _EVENT_DEFAULTS.idf_power, 0, 2),
    ),
    "delivery": (
        Option("max_attempts", "int", _DELIVERY.max_attempts, 1, 1_000),
        Option("backoff", "duration", _DELIVERY.backoff, 0.1, DAY),
        Option("backoff_max", "duration", _DELIVERY.backoff_max, 0.1, 7 * DAY),
        Option("burst", "int", _DELIVERY.burst, 1, 1_000_000),
        Option("update_every", "duration", _DELIVERY.update_every, 1.0, 7 * DAY),
        Option("lease", "duration", _DELIVERY.lease, 1.0, DAY),
    ),
    "health": (
        Option("failures", "int", _HEALTH.failures, 1, 1_000),
        Option("silence_factor", "number", _HEALTH.silence_factor, 1, 1_000),
        Option("min_silence", "duration", _HEALTH.min_silence, MINUTE, 365 * DAY),
    ),
    "retention": (
        Option("stories", "duration", _RETENTION.stories, HOUR, 3650 * DAY),
        Option("outbox", "duration", _RETENTION.outbox, HOUR, 3650 * DAY),
    ),
    "metrics": (
        Option("listen", "listen", _METRICS.listen),
        Option("allow_remote", "bool", _METRICS.allow_remote),
    ),
    "node": (
        Option("name", "name", _NODE.name),
        Option("role_retry", "duration", _NODE.role_retry, 0.1, 5 * MINUTE),
        Option("heartbeat", "duration", _NODE.heartbeat, 0.1, 5 * MINUTE),
    ),
    "web": (
        Option("listen", "listen", _WEB.listen),
        Option("auth", "auth", _WEB.auth),
        Option("tz", "zone", _WEB.tz),
    ),
    "fulltext": (
        Option("mode", "choice", _FULLTEXT_DEFAULTS.mode, choices=FULLTEXT_MODES),
        Option("concurrency", "int", _FULLTEXT_DEFAULTS.concurrency, 1, 1_000),
        Option("per_host", "int", _FULLTEXT_DEFAULTS.per_host, 1, 100),
        Option("interval", "duration", _FULLTEXT_DEFAULTS.interval, 0.0, HOUR),
        Option("max_bytes", "size", _FULLTEXT_DEFAULTS.max_bytes, 1024, 2**30),
        Option("timeout", "duration", _FULLTEXT_DEFAULTS.timeout, 1.0, HOUR),
        Option("deadline", "duration", _FULLTEXT_DEFAULTS.deadline, 1.0, HOUR),
        Option("wait", "duration", _FULLTEXT_DEFAULTS.wait, 0.0, HOUR),
        Option("robots", "bool", _FULLTEXT_DEFAULTS.robots),
        Option("extract_deadline", "duration", _FULLTEXT_DEFAULTS.extract_deadline, 1.0, HOUR),
    ),
}


# A section inside another one (`dedup.event`): its parent's key that holds it.
SUBSECTIONS = {"dedup.event": ("dedup", "event")}


def _section(config: Config, name: str, problems: list[ConfigError]) -> Section:
    """The options of section `name`; a nested one (`dedup.event`) is read from its parent."""
    if name not in SUBSECTIONS:
        return config.section(name)
    parent_name, key = SUBSECTIONS[name]
    parent = config.section(parent_name)
    values = parent.values.get(key)
    line = parent.line_of(key)
    if values is None:
        return Section(YDict(), parent.file, line)
    if not isinstance(values, dict):
        problems.append(parent.error(f"{name}: expected a mapping of options, got {kind_of(values)}", key))
        return Section(YDict(), parent.file, line)
    return Section(values, parent.file, line_of(values, line))


def read_settings(config: Config) -> Settings:
    """The settings of `config`; the first problem raises ConfigError(file=, line=)."""
    settings, problems = _read(config)
    if problems:
        raise problems[0]
    return settings


def settings_problems(config: Config) -> list[ConfigError]:
    """Every problem `read_settings` would meet, in the order of their lines."""
    return _read(config)[1]


def _read(config: Config) -> tuple[Settings, list[ConfigError]]:
    problems: list[ConfigError] = []
    values: dict[str, dict[str, Any]] = {}
    for name, options in OPTIONS.items():
        section = _section(config, name, problems)
        known = {o.key: o for o in options}
        nested = {child for sub, (parent, child) in SUBSECTIONS.items() if parent == name}
        for key in section.values:
            if key not in known and key not in nested:
                problems.append(section.error(f"{name}: unknown key {shown(key)} "
                                              f"(known: {', '.join(sorted(set(known) | nested))})", key))
        out = values[name] = {}
        for option in options:
            if option.key not in section.values:
                out[option.key] = option.default
                continue
            try:
                out[option.key] = _value(section, name, option)
            except ConfigError as exc:
                problems.append(exc)
                out[option.key] = option.default
    poll, delivery, metrics = values["poll"], values["delivery"], values["metrics"]
    poll_section, delivery_section = config.section("poll"), config.section("delivery")
    if poll["min_interval"] > poll["max_interval"]:
        problems.append(poll_section.error(
            f"poll.min_interval ({format_duration(poll['min_interval'])}) is longer than poll.max_interval "
            f"({format_duration(poll['max_interval'])})", "min_interval"))
    poll["min_interval"] = min(poll["min_interval"], poll["interval"])
    poll["max_interval"] = max(poll["max_interval"], poll["interval"])
    if delivery["backoff"] > delivery["backoff_max"]:
        problems.append(delivery_section.error(
            f"delivery.backoff ({format_duration(delivery['backoff'])}) is longer than delivery.backoff_max "
            f"({format_duration(delivery['backoff_max'])})", "backoff"))
    if metrics["listen"] is not None:
        host = metrics["listen"].rpartition(":")[0].strip("[]")
        if host not in LOOPBACK and not metrics["allow_remote"]:
            section = config.section("metrics")
            problems.append(ConfigError(f"metrics.listen: {host} is not a loopback address", file=section.file,
                                        line=section.line_of("listen"),
                                        hint="set metrics.allow_remote: true to serve /metrics and /healthz "
                                             "to other hosts"))
    web = values["web"]
    if "auth" not in config.section("web").values:
        try:
            web["auth"] = auth_from_environment(config.section("web"))
        except ConfigError as exc:
            problems.append(exc)
    auth_refused = any(str(p.message).startswith("web.auth") for p in problems)
    if web["listen"] is not None and web["auth"] is None and not auth_refused:
        host = web["listen"].rpartition(":")[0].strip("[]")
        if host not in LOOPBACK:
            section = config.section("web")
            problems.append(ConfigError(
                f"web.auth: required when web.listen ({host}) is not a loopback address", file=section.file,
                line=section.line_of("listen"),
                hint=f"set web.auth: ${{{WEB_AUTH_ENV}}} to token:SECRET or a password hash from "
                     f"`raqib web password`, or use the systemd credential {WEB_AUTH_CREDENTIAL}; "
                     "or listen on 127.0.0.1"))
    dedup = dict(values["dedup"])
    dedup["window_hours"] = dedup.pop("window") / HOUR
    snapshot = SnapshotSettings(dedup.pop("snapshot"), dedup.pop("snapshot_every"))
    event = dict(values["dedup.event"])
    event["window_hours"] = event.pop("window") / HOUR
    event["copy_hours"] = event.pop("copy_window") / HOUR
    event["decay_hours"] = event.pop("decay_window") / HOUR
    problems.sort(key=lambda p: (p.line or 0))
    settings = Settings(poll=PollSettings(**poll), dedup=DedupSettings(**dedup),
                        delivery=DeliverySettings(**delivery), health=HealthSettings(**values["health"]),
                        retention=RetentionSettings(**values["retention"]), metrics=MetricsSettings(**metrics),
                        event=EventSettings(**event), web=WebSettings(**web), node=NodeSettings(**values["node"]),
                        fulltext=FulltextSettings(**values["fulltext"]), snapshot=snapshot)
    return settings, problems


# What a reload applies at once; every other setting that changed waits for a restart,
# and the reload names it in a WARNING.
RELOADABLE = frozenset({"web.auth"})


def changed_settings(old: Settings, new: Settings) -> list[str]:
    """The dotted keys (`poll.interval`, `web.auth`) whose values differ, sorted."""
    out = []
    for section in fields(Settings):
        a, b = getattr(old, section.name), getattr(new, section.name)
        for f in fields(a):
            if getattr(a, f.name) != getattr(b, f.name):
                name = "dedup.event" if section.name == "event" else section.name
                out.append(f"{name}.{f.name}")
    return sorted(out)


def _bytes(bound: float | None) -> int | None:
    """A size option's bound as the whole number of bytes OPTIONS gives it."""
    if bound is None:
        return None
    if bound != int(bound):
        raise ValueError(f"a size bound must be a whole number of bytes, not {bound!r}")
    return int(bound)


def _value(section: Section, name: str, option: Option) -> Any:
    read = _READERS.get(option.kind, _number_value)  # int and number: _number_value
    return read(section.values[option.key], section, f"{name}.{option.key}", option)


def _duration(raw: Any, section: Section, what: str, option: Option) -> float:
    return parse_duration(raw, file=section.file, line=section.line_of(option.key), what=what,
                          low=option.low, high=option.high)


def _size(raw: Any, section: Section, what: str, option: Option) -> int:
    return parse_size(raw, file=section.file, line=section.line_of(option.key), what=what,
                      low=_bytes(option.low), high=_bytes(option.high))


def _bool(raw: Any, section: Section, what: str, option: Option) -> bool:
    if not isinstance(raw, bool):
        raise section.error(f"{what}: expected true or false, got {shown(raw)}", option.key)
    return raw


def _choice(raw: Any, section: Section, what: str, option: Option) -> Any:
    if raw not in option.choices:
        raise section.error(f"{what}: expected one of {', '.join(option.choices)}, got {shown(raw)}", option.key)
    return raw


def _path(raw: Any, section: Section, what: str, option: Option) -> str | None:
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str) or "\x00" in raw or len(raw) > 4096:
        raise section.error(f"{what}: expected a file path or off, got {shown(raw)}", option.key)
    return raw


def _auth(raw: Any, section: Section, what: str, option: Option) -> WebAuth | None:
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str):
        raise section.error(f"{what}: expected token:SECRET or a password hash, got {kind_of(raw)}", option.key)
    return parse_web_auth(raw, lambda message: section.error(f"{what}: {message}", option.key))


def _number_value(raw: Any, section: Section, what: str, option: Option) -> int | float:
    """An int (a whole number) or number option, within its bounds."""
    whole = option.kind == "int"
    if isinstance(raw, bool) or not isinstance(raw, int if whole else (int, float)):
        expected = "a whole number" if whole else "a number"
        raise section.error(f"{what}: expected {expected}, got {shown(raw)}", option.key)
    if not math.isfinite(as_float(raw)):
        raise section.error(f"{what}: expected a finite number, got {shown(raw)}", option.key)
    if option.low is not None and raw < option.low:
        raise section.error(f"{what}: must be at least {_number(option.low)}, got {shown(raw)}", option.key)
    if option.high is not None and raw > option.high:
        raise section.error(f"{what}: must be at most {_number(option.high)}, got {shown(raw)}", option.key)
    return raw if whole else float(raw)


def _listen(raw: Any, section: Section, what: str, option: Option) -> str | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    if not isinstance(raw, str):
        raise section.error(f"{what}: expected HOST:PORT like 127.0.0.1:9311, got {shown(raw)}", option.key)
    host, _, port = raw.strip().rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    if (not port.isascii() or not port.isdigit() or len(port) > 5 or not 1 <= int(port) <= 65535
            or any(c.isspace() for c in host)):
        raise section.error(f"{what}: expected HOST:PORT like 127.0.0.1:9311 (port 1-65535), "
                            f"got {shown(raw)}", option.key)
    return f"[{host}]:{int(port)}" if ":" in host else f"{host}:{int(port)}"


def _name(raw: Any, section: Section, what: str, option: Option) -> str | None:
    if raw is None or raw == "":
        return None
    if (not isinstance(raw, str) or len(raw) > NAME_MAX or not raw.isprintable()
            or any(c.isspace() for c in raw)):
        raise section.error(f"{what}: expected a name of at most {NAME_MAX} visible characters without "
                            f"spaces, like desk-1, got {shown(raw)}", option.key)
    return raw


def _zone(raw: Any, section: Section, what: str, option: Option) -> str | None:
    if raw is None or raw == "":
        return None
    try:
        if not isinstance(raw, str) or len(raw) > 64:
            raise ValueError(raw)
        ZoneInfo(raw)
    except (ValueError, ZoneInfoNotFoundError):
        raise section.error(f"{what}: unknown time zone {shown(raw)} (use an IANA name like Asia/Riyadh)",
                            option.key) from None
    return raw


def _number(value: float) -> str:
    return f"{int(value):,}" if value == int(value) else f"{value:g}"


# how each kind of option is read and checked (`_value`); int and number: `_number_value`
_READERS: dict[str, Callable[[Any, Section, str, Option], Any]] = {
    "duration": _duration, "size": _size, "bool": _bool, "listen": _listen, "name": _name, "choice": _choice,
    "zone": _zone, "path": _path, "auth": _auth}
