"""The config file: good files load, bad ones name the file and line."""
from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import load_config, parse_duration, parse_size
from monitor.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "raqib.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_shipped_example_config_loads():
    config = load_config(Path(__file__).resolve().parents[2] / "raqib.yaml")
    assert len(config.feeds) >= 5
    assert config.database.name == "raqib.db"
    assert "console" in config.channels


def test_relative_paths_are_relative_to_the_config_file(tmp_path):
    config = load_config(write(tmp_path, "database: state/x.db\nwatchlists: lists\n"))
    assert config.database == tmp_path / "state" / "x.db"
    assert config.watchlists == tmp_path / "lists"


def test_environment_variables_are_read_and_missing_ones_name_the_line(tmp_path):
    path = write(tmp_path, "channels:\n  email:\n    host: smtp.example.org\n    password: ${SMTP_PW}\n")
    config = load_config(path, env={"SMTP_PW": "s3cret"})
    assert config.channels["email"].get("password") == "s3cret"
    with pytest.raises(ConfigError) as err:
        load_config(path, env={})
    assert str(err.value).startswith(f"{path}:4: ")
    assert "SMTP_PW" in str(err.value)
    assert load_config(write(tmp_path, "database: ${DB:-var/d.db}\n"), env={}).database.name == "d.db"


@pytest.mark.parametrize("text, line, words", [
    ("feeds:\n  - {name: a, url: 'https://a.example/rss'}\n  - {name: a, url: 'https://b.example/rss'}\n",
     3, "duplicate feed name"),
    ("feeds:\n  - {name: a, url: 'ftp://a.example/rss'}\n", 2, "http(s) URL"),
    ("feeds:\n  - {name: a, url: 'https://a.example/', interval: often}\n", 2, "duration"),
    ("feeds:\n  - {name: a, url: 'https://a.example/', colour: red}\n", 2, "unknown feed key"),
    ("database: x.db\npolling: {}\n", 2, "unknown key 'polling'"),
    ("database: x.db\nfeeds: [\n", 3, "YAML syntax error"),
    ("database: a.db\ndatabase: b.db\n", 2, "duplicate key"),
])
def test_bad_configs_name_file_and_line(tmp_path, text, line, words):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value).startswith(f"{path}:{line}: "), str(err.value)
    assert words in str(err.value)


def test_missing_config_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.yaml")


def test_yaml_is_loaded_safely(tmp_path):
    with pytest.raises(ConfigError):
        load_config(write(tmp_path, "database: !!python/object/apply:os.system ['true']\n"))


def test_durations_and_sizes():
    assert parse_duration("90s") == 90
    assert parse_duration("5m") == 300
    assert parse_duration("2h") == 7200
    assert parse_duration("3d") == 3 * 86400
    assert parse_duration(12) == 12
    assert parse_size("10MB") == 10_000_000
    assert parse_size("1MiB") == 2**20
    with pytest.raises(ConfigError):
        parse_duration("soon")
