"""`raqib check`: the shipped examples pass; bad config, watchlists and destinations name file and line."""
from __future__ import annotations

from pathlib import Path

from raqib.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_the_shipped_config_and_watchlists_pass(capsys):
    assert main(["check", "--config", str(ROOT / "raqib.yaml")]) == 0
    assert capsys.readouterr().out.startswith("ok: ")


def test_every_problem_is_listed_with_file_and_line(tmp_path, capsys):
    wl = tmp_path / "wl"
    wl.mkdir()
    (wl / "a.yaml").write_text("name: a\nterms:\n  - بوتين\n  - {term: كورسك, colour: red}\n", encoding="utf-8")
    (wl / "b.yaml").write_text("name: b\nterms: [مصر]\nnotify:\n  email: [not-an-address]\n", encoding="utf-8")
    config = tmp_path / "raqib.yaml"
    config.write_text(f"database: {tmp_path / 'x.db'}\nwatchlists: {wl}\n"
                      "channels:\n  email: {host: smtp.example.org, from: r@example.org}\n", encoding="utf-8")
    assert main(["check", "--config", str(config)]) == 1
    out = capsys.readouterr().out
    assert f"{wl / 'a.yaml'}:4: " in out and "colour" in out
    # the first problem hides nothing: after the watchlists are fixed, destinations are checked
    (wl / "a.yaml").write_text("name: a\nterms: [بوتين]\n", encoding="utf-8")
    assert main(["check", "--config", str(config)]) == 1
    out = capsys.readouterr().out
    assert f"{wl / 'b.yaml'}:3: " in out and "not-an-address" in out


def test_a_broken_config_exits_1_with_file_and_line(tmp_path, capsys):
    config = tmp_path / "raqib.yaml"
    config.write_text("database: x.db\nfeeds:\n  - {name: a, url: nowhere}\n", encoding="utf-8")
    assert main(["check", "--config", str(config)]) == 1
    assert f"{config}:3: " in capsys.readouterr().out
    assert main(["run", "--config", str(tmp_path / "missing.yaml")]) == 1
    assert "missing.yaml" in capsys.readouterr().err


def test_a_webhook_to_a_private_address_is_reported_with_file_and_line(tmp_path, capsys):
    wl = tmp_path / "wl"
    wl.mkdir()
    (wl / "a.yaml").write_text("name: a\nterms: [بوتين]\nnotify:\n  webhook: ['http://100.100.100.200/latest']\n",
                               encoding="utf-8")
    config = tmp_path / "raqib.yaml"
    config.write_text(f"database: {tmp_path / 'x.db'}\nwatchlists: {wl}\nchannels:\n  webhook: {{}}\n",
                      encoding="utf-8")
    assert main(["check", "--config", str(config)]) == 1
    out = capsys.readouterr().out
    assert f"{wl / 'a.yaml'}:3: " in out and "100.100.100.200" in out and "allow_private" in out, out
    config.write_text(config.read_text(encoding="utf-8").replace("webhook: {}", "webhook: {allow_private: true}"),
                      encoding="utf-8")
    assert main(["check", "--config", str(config)]) == 0


def test_a_channel_value_of_an_unexpected_kind_is_a_line_not_a_traceback(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("RAQIB_TELEGRAM_TOKEN", "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw")
    wl = tmp_path / "wl"
    wl.mkdir()
    (wl / "a.yaml").write_text("name: a\nterms: [بوتين]\n", encoding="utf-8")
    config = tmp_path / "raqib.yaml"
    config.write_text(f"database: {tmp_path / 'x.db'}\nwatchlists: {wl}\n"
                      "channels:\n  telegram: {channels: {'@desk': 5}}\n", encoding="utf-8")
    assert main(["check", "--config", str(config)]) == 1
    out = capsys.readouterr().out
    assert f"{config}:4: channels.telegram" in out and "Traceback" not in out


def test_a_term_written_like_a_logical_expression_is_warned_about_and_check_still_passes(tmp_path, capsys):
    wl = tmp_path / "wl"
    wl.mkdir()
    (wl / "a.yaml").write_text("name: a\nterms:\n  - بوتين AND سوريا\n  - بوتين و سوريا\n  - غزة | رفح\n"
                               "  - بافيل دوروف\n  - وزير الخارجية\n", encoding="utf-8")
    config = tmp_path / "raqib.yaml"
    config.write_text(f"database: {tmp_path / 'x.db'}\nwatchlists: {wl}\n", encoding="utf-8")
    assert main(["check", "--config", str(config)]) == 0
    lines = [li for li in capsys.readouterr().out.splitlines() if "warning:" in li]
    assert lines == [
        f"{wl / 'a.yaml'}:3: warning: term “بوتين AND سوريا” has “AND”, which is not an operator: the term is one "
        "phrase with it inside. For both, keep “بوتين” and add require: [سوريا]; for either, list “بوتين” and "
        "“سوريا” as terms of their own",
        f"{wl / 'a.yaml'}:4: warning: term “بوتين و سوريا” has “و”, which is not an operator: the term is one "
        "phrase with it inside. For both, keep “بوتين” and add require: [سوريا]; for either, list “بوتين” and "
        "“سوريا” as terms of their own",
        f"{wl / 'a.yaml'}:5: warning: term “غزة | رفح” has “|”, which is not an operator: the term is one phrase "
        "with it inside. For both, keep “غزة” and add require: [رفح]; for either, list “غزة” and “رفح” as terms "
        "of their own"]
