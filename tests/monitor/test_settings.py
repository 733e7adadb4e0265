"""Settings: `raqib check` refuses exactly what `raqib run` refuses, with file:line.

Every option of the poll, dedup, delivery, health, retention and metrics sections is
declared once (monitor/settings.py). A bad value (wrong kind, out of range, not finite,
unknown key) makes `check` print `file:line: message` and exit 1, and `run` exit 1 with
the same message before it opens the database. The README's configuration reference
names every option with its default.
"""
from __future__ import annotations

import math
import signal
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from monitor.config import FEED_KEYS, TOP_LEVEL_KEYS, load_config, parse_duration, parse_size
from monitor.errors import ConfigError
from monitor.settings import OPTIONS, SUBSECTIONS, Option, read_settings, settings_problems
from raqib.cli import main
from tests.support import readme

ROOT = Path(__file__).resolve().parents[2]

# (the third line of the config, words the message must hold)
BAD = [
    ("poll: {concurrency: many}", "poll.concurrency: expected a whole number, got 'many'"),
    ("poll: {concurrency: 0}", "poll.concurrency: must be at least 1, got 0"),
    ("poll: {concurrency: 4.5}", "poll.concurrency: expected a whole number, got 4.5"),
    ("poll: {per_host: 0}", "poll.per_host: must be at least 1, got 0"),
    ("poll: {interval: 0}", "poll.interval: must be at least 1s, got 0"),
    ("poll: {interval: -5}", "poll.interval: must not be negative, got -5"),
    ("poll: {interval: 1e400}", "poll.interval: expected a duration like 90s, 5m, 2h or 3d, got '1e400'"),
    ("poll: {interval: 1.0e+400}", "poll.interval: expected a finite duration, got .inf"),
    ("poll: {interval: 99999999999d}", "poll.interval: must be at most 7d"),
    ("poll: {interval: " + "9" * 400 + "}", "poll.interval: expected a finite duration, got a very large number"),
    ("poll: {min_interval: 0.2s}", "poll.min_interval: must be at least 1s, got '0.2s'"),
    ("poll: {min_interval: 2h, max_interval: 1h}", "poll.min_interval (2h) is longer than poll.max_interval (1h)"),
    ("poll: {timeout: 0}", "poll.timeout: must be at least 1s, got 0"),
    ("poll: {deadline: .inf}", "poll.deadline: expected a finite duration, got .inf"),
    ("poll: {max_bytes: -1}", "poll.max_bytes: must not be negative, got -1"),
    ("poll: {max_bytes: 1e400}", "poll.max_bytes: expected a size like 10MB, got '1e400'"),
    ("poll: {max_bytes: 100}", "poll.max_bytes: must be at least 1KiB, got 100"),
    ("poll: {adaptive: 'false'}", "poll.adaptive: expected true or false, got 'false'"),
    ("poll: {backfill: -3600}", "poll.backfill: must not be negative, got -3600"),
    ("poll: {max_age: 10s}", "poll.max_age: must be at least 1m, got '10s'"),
    ("web: {tz: Mars/Olympus}", "web.tz: unknown time zone 'Mars/Olympus' (use an IANA name like Asia/Riyadh)"),
    ("poll: {intervall: 5m}", "poll: unknown key 'intervall' (known: adaptive, backfill, concurrency"),
    ("poll: [interval, 5m]", "poll: expected a mapping, got a list"),
    ("dedup: {bogus: 1}", "dedup: unknown key 'bogus'"),
    ("dedup: {title_alone: 150}", "dedup.title_alone: must be at most 100, got 150"),
    ("dedup: {subset_ratio: .nan}", "dedup.subset_ratio: expected a finite number, got .nan"),
    ("dedup: {window: 0}", "dedup.window: must be at least 1m, got 0"),
    ("dedup: {event: {threshold: 1.5}}", "dedup.event.threshold: must be at most 1, got 1.5"),
    ("dedup: {event: {window: 0}}", "dedup.event.window: must be at least 1m, got 0"),
    ("dedup: {event: {bogus: 1}}", "dedup.event: unknown key 'bogus'"),
    ("dedup: {event: 0.3}", "dedup.event: expected a mapping of options, got a number"),
    ("delivery: {backoff: 1e400}", "delivery.backoff: expected a duration like 90s, 5m, 2h or 3d, got '1e400'"),
    ("delivery: {backoff: 0}", "delivery.backoff: must be at least 0.1s, got 0"),
    ("delivery: {backoff: 2h, backoff_max: 1h}", "delivery.backoff (2h) is longer than delivery.backoff_max (1h)"),
    ("delivery: {max_attempts: 0}", "delivery.max_attempts: must be at least 1, got 0"),
    ("delivery: {burst: 2000000}", "delivery.burst: must be at most 1,000,000, got 2000000"),
    ("delivery: {burst: true}", "delivery.burst: expected a whole number, got true"),
    ("health: {failures: 0}", "health.failures: must be at least 1, got 0"),
    ("health: {silence_factor: many}", "health.silence_factor: expected a number, got 'many'"),
    ("retention: {stories: [1]}", "retention.stories: expected a duration like 5m, got a list"),
    ("retention: {outbox: 1m}", "retention.outbox: must be at least 1h, got '1m'"),
    ("metrics: {listen: notaport}", "metrics.listen: expected HOST:PORT like 127.0.0.1:9311 (port 1-65535), "
                                    "got 'notaport'"),
    ("metrics: {listen: '127.0.0.1:99999'}", "metrics.listen: expected HOST:PORT"),
    ("metrics: {listen: '0.0.0.0:9311'}", "metrics.listen: 0.0.0.0 is not a loopback address"),
    ("metrics: {listen: '127.0.0.1:9311', allow_remote: 'yes'}", "metrics.allow_remote: expected true or false"),
    ("feeds: [{name: a, url: 'https://a.example/rss', enabled: 'false'}]",
     "feed a: enabled: expected true or false, got 'false'"),
    ("feeds: [{name: a, url: 'https://a.example/rss', interval: 0}]", "feed a: interval: must be at least 1s"),
    ("feeds: [{name: a, url: 'https://a.example/rss', title: [x]}]", "feed a: title: expected text, got a list"),
    ("feeds: {name: a}", "feeds: expected a list of {name, url}, got a mapping"),
    ("log: {level: debug}", "unknown key 'log'"),
]


def write(tmp_path: Path, third_line: str) -> Path:
    (tmp_path / "wl").mkdir(exist_ok=True)
    (tmp_path / "wl" / "w.yaml").write_text("name: w\nterms: [بوتين]\n", encoding="utf-8")
    config = tmp_path / "raqib.yaml"
    config.write_text(f"database: {tmp_path / 'state' / 'raqib.db'}\nwatchlists: {tmp_path / 'wl'}\n"
                      f"{third_line}\nchannels: {{console: {{}}}}\n", encoding="utf-8")
    return config


def run(argv: list[str]) -> int:
    handler = signal.getsignal(signal.SIGTERM)
    try:
        return main(argv)
    finally:
        signal.signal(signal.SIGTERM, handler)  # `run` installs its own during start-up


@pytest.mark.parametrize("line, words", BAD, ids=[b[0] for b in BAD])
def test_check_and_run_refuse_the_same_value_with_file_and_line(tmp_path, capsys, line, words):
    config = write(tmp_path, line)
    assert run(["check", "--config", str(config)]) == 1
    out = capsys.readouterr().out
    assert f"{config}:3: {words}" in out, out
    assert run(["run", "--config", str(config), "--seconds", "0.1"]) == 1
    err = capsys.readouterr().err
    assert f"raqib: {config}:3: {words}" in err, err
    assert "Traceback" not in out + err
    assert not (tmp_path / "state").exists()  # refused before the database is opened


def test_check_lists_every_bad_setting_at_once(tmp_path, capsys):
    config = write(tmp_path, "poll:\n  concurrency: 0\n  per_host: many\n"
                             "delivery: {backoff: -1}\nhealth:\n  failures: 1.5\nmetrics: {listen: x}")
    assert run(["check", "--config", str(config)]) == 1
    out = capsys.readouterr().out
    for line, key in ((4, "poll.concurrency"), (5, "poll.per_host"), (6, "delivery.backoff"),
                      (8, "health.failures"), (9, "metrics.listen")):
        assert f"{config}:{line}: {key}:" in out, out


def test_good_settings_reach_the_daemon(tmp_path):
    """What the file says is what runs: the values check accepted, in the daemon's parts."""
    from raqib.daemon import Daemon

    config = write(tmp_path, "poll: {interval: 2m, min_interval: 30s, concurrency: 7, per_host: 2, timeout: 5s,"
                             " max_bytes: 64KiB, adaptive: false, backfill: 36500d, max_age: 36500d}\n"
                             "dedup: {window: 6h, title_alone: 92, event: {threshold: 0.4, window: 12h}}\n"
                             "delivery: {max_attempts: 3, backoff: 1s, backoff_max: 10s, update_every: 1m}\n"
                             "health: {failures: 2, min_silence: 1h}\n"
                             "retention: {stories: 7d}\n"
                             "metrics: {listen: 9311}")
    daemon = Daemon(load_config(config)).open()
    try:
        assert daemon.fetcher.max_bytes == 64 * 1024
        assert daemon.poller.settings is daemon.settings.poll  # as read: no copy
        assert (daemon.poller.settings.interval, daemon.poller.settings.min_interval,
                daemon.poller.settings.adaptive) == (120.0, 30.0, False)
        assert daemon.dedup_settings.window_hours == 6.0 and daemon.dedup_settings.title_alone == 92
        assert daemon.settings.event.threshold == 0.4 and daemon.settings.event.window_hours == 12.0
        assert daemon.deliverer.settings.max_attempts == 3 and daemon.deliverer.settings.backoff_max == 10.0
        assert daemon.pipeline.delivery.update_every == 60.0
        assert daemon.deliverer.settings is daemon.pipeline.delivery is daemon.settings.delivery
        assert daemon.poller.health.failures == 2 and daemon.poller.health.min_silence == 3600.0
        assert daemon.retention.stories == 7 * 86400.0 and daemon.retention.outbox == 30 * 86400.0
        assert daemon.settings.metrics.listen == "127.0.0.1:9311"
    finally:
        daemon.store.close()


def test_a_short_default_interval_still_stands(tmp_path):
    """`interval: 10s` with the default min_interval (1m): the interval pulls the floor down."""
    settings = read_settings(load_config(write(tmp_path, "poll: {interval: 10s}")))
    assert (settings.poll.interval, settings.poll.min_interval) == (10.0, 10.0)


async def test_a_reload_with_bad_settings_keeps_the_config_in_force(tmp_path):
    from raqib.daemon import Daemon

    config = write(tmp_path, "feeds: [{name: a, url: 'https://a.example/rss'}]")
    daemon = Daemon(load_config(config)).open()
    try:
        config.write_text(config.read_text(encoding="utf-8") + "poll: {interval: 0}\n", encoding="utf-8")
        problems = await daemon.reload()
        assert problems and f"{config}:5: poll.interval: must be at least 1s" in problems[0]
        assert "poll" not in daemon.config.sections or not daemon.config.section("poll").values
    finally:
        daemon.store.close()


# -- the README names every option, with its default ------------------------------------

def _readme_config() -> dict:
    return readme.reference()


def test_the_readme_reference_names_every_key_with_its_default(tmp_path):
    documented = _readme_config()
    assert set(documented) == TOP_LEVEL_KEYS
    assert set(documented["feeds"][0]) == FEED_KEYS
    path = tmp_path / "readme.yaml"
    path.write_text(yaml.safe_dump(documented, allow_unicode=True), encoding="utf-8")
    from_readme = read_settings(load_config(path))
    defaults = read_settings(load_config(write(tmp_path, "")))
    for name, options in OPTIONS.items():
        nested = {child for parent, child in SUBSECTIONS.values() if parent == name}
        assert set(_documented(documented, name)) == {o.key for o in options} | nested, name
        for option in options:
            if option.default is not None:
                assert _setting(from_readme, name, option) == _setting(defaults, name, option), \
                    f"{name}.{option.key}"


def _documented(documented: dict, name: str) -> dict:
    """The README's values of section `name` (`dedup.event` is inside `dedup`)."""
    for part in name.split("."):
        documented = documented[part]
    return documented


def _part(settings, name: str):
    """The settings of section `name`: `dedup.event` is `settings.event`."""
    return getattr(settings, name.rpartition(".")[2])


_FIELDS = {("dedup", "window"): "window_hours", ("dedup.event", "window"): "window_hours",
           ("dedup.event", "copy_window"): "copy_hours", ("dedup.event", "decay_window"): "decay_hours"}


def _field(section: str, option: Option) -> str:
    return _FIELDS.get((section, option.key), option.key)


# options read into another part of the settings than their section's
_ELSEWHERE = {("dedup", "snapshot"): ("snapshot", "path"), ("dedup", "snapshot_every"): ("snapshot", "every")}


def _setting(settings, name: str, option: Option):
    if (name, option.key) in _ELSEWHERE:
        part, field = _ELSEWHERE[(name, option.key)]
        return getattr(getattr(settings, part), field)
    return getattr(_part(settings, name), _field(name, option))


# -- hypothesis: any value for any option ------------------------------------------------

ALL = [(name, option) for name, options in OPTIONS.items() for option in options]
values = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-10**6, max_value=10**12), st.just(10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["5m", "0s", "0.5s", "1s", "90s", "2h", "3d", "8d", "31d", "10MB", "1KiB", "512", "1e400",
                     "many", "true", "false", "127.0.0.1:9311", "localhost:1", "[::1]:80", ":9311", "0.0.0.0:1",
                     "host:0", "host:65536", "h:" + "1" * 5000, "h:²", "", " ", "٥m", "5 m", "9" * 400 + "d"]),
    st.text(max_size=12), st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3),
                                                                                st.integers(), max_size=2))


@hsettings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(ALL), values), min_size=1, max_size=4))
def test_any_value_is_accepted_within_range_or_refused_with_its_line(tmp_path, chosen):
    doc: dict = {}
    for (name, option), value in chosen:
        section = doc
        for part in name.split("."):
            section = section.setdefault(part, {})
        section[option.key] = value
    path = tmp_path / "fuzz.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    config = load_config(path)
    problems = settings_problems(config)
    if problems:
        for p in problems:
            assert isinstance(p, ConfigError) and p.file == str(path) and p.line, str(p)
        with pytest.raises(ConfigError) as err:
            read_settings(config)
        assert str(err.value) == str(problems[0])
        return
    settings = read_settings(config)  # check said yes: run says yes
    for name, option in ALL:
        value = _setting(settings, name, option)
        if option.kind in ("duration", "size", "int", "number"):
            assert not isinstance(value, bool) and math.isfinite(value)
            if _field(name, option) in ("window_hours", "copy_hours", "decay_hours"):
                value *= 3600
            low, high = option.low, option.high
            if (name, option.key) == ("poll", "min_interval"):
                high = None  # pulled down to interval, never below the floor
            if (name, option.key) == ("poll", "max_interval"):
                low = None  # pushed up to interval
            assert low is None or value >= low, (name, option.key, value)
            assert high is None or value <= high, (name, option.key, value)
        if option.kind == "int":
            assert isinstance(value, int)
        if option.kind == "bool":
            assert isinstance(value, bool)
    assert settings.poll.min_interval <= settings.poll.interval <= settings.poll.max_interval


@hsettings(max_examples=200, deadline=None)
@given(st.one_of(st.text(max_size=20), st.integers(), st.just(-10**400), st.just(10**400), st.floats(),
                 st.booleans(), st.none(), st.lists(st.integers(), max_size=2)))
def test_durations_and_sizes_are_finite_and_not_negative_or_refused(value):
    for parse in (parse_duration, parse_size):
        try:
            result = parse(value)
        except ConfigError:
            continue
        assert math.isfinite(result) and result >= 0
