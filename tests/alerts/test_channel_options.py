"""Channel options are declared once (`Channel.options`): the README's reference agrees
with the declarations, and a bad value in a channel section is a `file:line` problem
for `raqib check` and `raqib run` alike, never a traceback."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from alerts.apprise_channel import AppriseChannel
from alerts.channel import REGISTRY, Channel, build_channels
from alerts.console import ConsoleChannel
from alerts.email import EmailChannel
from alerts.telegram import TelegramChannel
from alerts.webhook import WebhookChannel
from monitor.config import Section, load_config, parse_duration
from monitor.errors import ConfigError
from raqib.cli import main
from tests.support import readme

ROOT = Path(__file__).resolve().parents[2]
CLASSES: dict[str, type[Channel]] = {"console": ConsoleChannel, "telegram": TelegramChannel, "email": EmailChannel,
                                     "webhook": WebhookChannel, "apprise": AppriseChannel}
TOKEN = "123456789:AAFakeTokenForTests_abcdefghijklmnop"


def _readme_channels() -> tuple[dict, dict[tuple[str, str], str]]:
    """The `channels:` part of the README's configuration reference, and each line's comment."""
    block = readme.reference_block()
    part = block[block.index("\nchannels:"):]
    comments: dict[tuple[str, str], str] = {}
    channel = ""
    for line in part.splitlines():
        m = re.match(r"^  (\w+):", line)
        if m:
            channel = m.group(1)
        m = re.match(r"^    (\w+):[^#]*(?:#(.*))?$", line)
        if m:
            comments[(channel, m.group(1))] = m.group(2) or ""
    return yaml.safe_load(part)["channels"], comments


def test_every_registered_channel_is_in_the_readme_reference():
    documented, _ = _readme_channels()
    assert set(documented) == set(REGISTRY) == set(CLASSES)


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_the_readme_reference_names_every_option_with_its_default(name):
    documented, comments = _readme_channels()
    options = {o.name: o for o in CLASSES[name].options}
    assert set(documented[name]) == set(options), name
    for key, value in documented[name].items():
        option = options[key]
        comment = comments[(name, key)]
        if option.required:
            assert "required" in comment, f"{name}.{key}: say it is required"
        elif option.default is None:
            assert "optional" in comment, f"{name}.{key}: say it is optional (no default)"
        elif option.kind == "duration":
            assert parse_duration(value) == option.default, f"{name}.{key}"
        else:
            assert value == option.default, f"{name}.{key}"
        if option.secret:
            assert "secret" in comment and str(value).startswith("${"), f"{name}.{key}"


def test_every_default_is_declared_once():
    """Each declared default is what the channel runs with when its section is empty."""
    ch = WebhookChannel(Section({}, "raqib.yaml"), None)
    assert (ch.timeout, ch.allow_private, ch.max_attempts, ch.defaults) == (10.0, False, None, {"mode": "instant"})
    tg = TelegramChannel(Section({"token": TOKEN}, "<built>"), None)
    assert (tg.api_url, tg.access, tg.lang, tg.polling, tg.link_preview, tg.timeout, tg.poll_timeout) == \
        ("https://api.telegram.org", "open", "ar", True, False, 20.0, 10.0)
    assert (tg.limiter.chat_interval, tg.limiter.group_per_minute, round(1 / tg.limiter.spacing)) == (1.1, 20, 29)


@pytest.mark.parametrize("name, values, words", [
    ("telegram", {"token": TOKEN, "polling": "no"}, "channels.telegram.polling: expected true or false"),
    ("telegram", {"token": TOKEN, "link_preview": 1}, "channels.telegram.link_preview: expected true or false"),
    ("telegram", {"token": TOKEN, "channels": {"@desk": 5}}, "channels.telegram.channels.@desk"),
    ("telegram", {"token": TOKEN, "rate": [1, 2]}, "channels.telegram.rate: expected a mapping"),
    ("telegram", {"token": TOKEN, "rate": {"global": "fast"}}, "channels.telegram.rate"),
    ("telegram", {"token": TOKEN, "timeout": "soon"}, "timeout"),
    ("email", {"host": 5, "from": "r@example.org"}, "channels.email.host: expected text"),
    ("email", {"host": "h.example.org", "from": "r@example.org", "port": "587"}, "channels.email.port"),
    ("email", {"host": "h.example.org", "from": "r@example.org", "port": 70000}, "channels.email.port"),
    ("email", {"host": "h.example.org", "from": "r@example.org", "recipients": ["a@b.org"]},
     "channels.email.recipients: expected a mapping"),
    ("email", {"host": "h.example.org", "from": "r@example.org", "recipients": {"a@b.org": {"related": "thread"}}},
     "channels.email.recipients.a@b.org: related: expected reply, edit or alert"),
    ("webhook", {"max_attempts": True}, "channels.webhook.max_attempts: expected a whole number"),
    ("webhook", {"endpoints": "https://example.org"}, "channels.webhook.endpoints: expected a mapping"),
    ("console", {"colour": "red"}, "channels.console: unknown key"),
])
def test_a_value_of_the_wrong_kind_names_file_line_and_key(name, values, words):
    with pytest.raises(ConfigError) as err:
        build_channels({name: Section(values, "nowhere/raqib.yaml", 9)}, None)
    assert words in str(err.value) and "nowhere/raqib.yaml:9" in str(err.value)


def test_a_section_that_is_not_a_mapping_is_a_problem_not_a_traceback(tmp_path):
    cfg = tmp_path / "raqib.yaml"
    cfg.write_text("database: db.sqlite\nwatchlists: wl.yaml\nchannels:\n  webhook: 5\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="channels.webhook: expected a mapping"):
        build_channels(load_config(cfg).channels, None)


def test_secret_options_never_show_in_repr():
    ch = WebhookChannel(Section({"secret": "s" * 20, "endpoints": {"a": "https://example.org/t?token=x"}},
                                "raqib.yaml"), None)
    assert "s" * 20 not in repr(ch) and "token=x" not in repr(ch)


@pytest.mark.parametrize("body, words", [
    ("  telegram: {polling: 'no'}\n", "channels.telegram.polling: expected true or false, got 'no'"),
    ("  telegram:\n    channels: {'@a': 5}\n", "channels.telegram.channels.@a"),
])
def test_check_and_run_refuse_a_bad_channel_value_alike(tmp_path, monkeypatch, capsys, body, words):
    monkeypatch.setenv("RAQIB_TELEGRAM_TOKEN", TOKEN)
    (tmp_path / "wl.yaml").write_text("", encoding="utf-8")
    cfg = tmp_path / "raqib.yaml"
    cfg.write_text(f"database: {tmp_path / 'db.sqlite'}\nwatchlists: {tmp_path / 'wl.yaml'}\nchannels:\n{body}",
                   encoding="utf-8")
    assert main(["check", "--config", str(cfg)]) == 1
    checked = capsys.readouterr()
    assert f"{cfg}:" in checked.out and words in checked.out and "Traceback" not in checked.out + checked.err
    assert main(["run", "--config", str(cfg)]) != 0
    ran = capsys.readouterr()
    assert words in ran.out + ran.err and "Traceback" not in ran.out + ran.err
