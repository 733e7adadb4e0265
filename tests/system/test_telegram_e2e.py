"""Telegram end to end: a person subscribes through the bot, a story appears in a feed
served on 127.0.0.1, the real daemon polls, matches and delivers through the real
python-telegram-bot client to the fake Bot API — once, escaped, and later edited when
another outlet carries the same story. A feed whose server answers with a hostile
status line gives the admin one short health alert, and the daemon stays responsive."""
from __future__ import annotations

import asyncio
import socket
import threading
import time
import urllib.request
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from monitor.config import load_config
from raqib.daemon import Daemon
from tests.support.daemon_harness import Daemon as HarnessDaemon
from tests.support.daemon_harness import until, wait_for
from tests.support.fake_telegram import FakeTelegram
from tests.support.feedserver import feed_server  # noqa: F401  (fixture)

TOKEN = "123456789:AAE2eTestTokenForRaqib_abcdefghijkl"
WATCHLISTS = Path(__file__).parents[1] / "data" / "e2e" / "watchlists"
TITLE = 'بوتين: "لن نسمح" <بتهديد> روسيا & أوكرانيا'
LEAD = "قال الرئيس الروسي فلاديمير بوتين الخميس إن بلاده مستعدة للتفاوض مع كييف على أساس محادثات إسطنبول."


def rss(items: list[tuple[str, str, str]]) -> str:
    body = "".join(f"<item><title>{escape(t)}</title><link>{escape(u)}</link><guid>{escape(u)}</guid>"
                   f"<pubDate>Thu, 05 Sep 2024 14:30:00 +0000</pubDate>"
                   f"<description>{escape(d)}</description></item>" for t, u, d in items)
    return f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>{body}</channel></rss>'


@pytest.fixture
def tg():
    with FakeTelegram(long_poll=0.2) as fake:
        yield fake


async def test_subscribe_then_one_escaped_alert_then_an_also_reported_by_edit(tmp_path, tg, feed_server,
                                                                              monkeypatch):
    monkeypatch.setenv("RAQIB_TELEGRAM_TOKEN", TOKEN)
    agency = feed_server.route("/agency.xml", text=rss([]), etag='"0"')
    paper = feed_server.route("/paper.xml", text=rss([]), etag='"0"')
    config = tmp_path / "raqib.yaml"
    config.write_text(
        f"database: {tmp_path / 'raqib.db'}\nwatchlists: {WATCHLISTS}\n"
        f"feeds:\n  - {{name: agency, url: \"{feed_server.url('/agency.xml')}\", title: وكالة الأنباء}}\n"
        f"  - {{name: paper, url: \"{feed_server.url('/paper.xml')}\", title: الصحيفة اليومية}}\n"
        "poll: {interval: 1s, min_interval: 1s, adaptive: false, backfill: 36500d, max_age: 36500d}\n"
        "delivery: {update_every: 1s}\n"
        f"channels:\n  telegram: {{api_url: \"{tg.api_url}\", admins: [500], poll_timeout: 1}}\n",
        encoding="utf-8")
    daemon = Daemon(load_config(config)).open()
    run = asyncio.create_task(daemon.run(seconds=60))
    try:
        tg.push_command(42, "/subscribe russia-ukraine")
        await until(lambda: tg.texts(42))
        assert "روسيا وأوكرانيا" in tg.texts(42)[0]
        tg.push_command(77, "/watch كييف")  # another person's own term, same Arabic rules
        await until(lambda: tg.texts(77))

        agency.body = rss([(TITLE, "https://agency.example/1", LEAD)]).encode()
        agency.etag = '"1"'
        await until(lambda: len(tg.texts(42)) >= 2)
        await asyncio.sleep(2.5)  # more polls: nothing is sent twice
        alerts = [m for m in tg.sent(42) if "agency.example/1" in m.text]
        assert len(alerts) == 1
        text = alerts[0].text
        assert "&lt;بتهديد&gt;" in text and "&amp;" in text and "<بتهديد>" not in text
        assert "<b>بوتين</b>" in text
        assert "وكالة الأنباء" in text  # the outlet as the config's title: names it

        await until(lambda: any("agency.example/1" in m.text for m in tg.sent(77)))
        assert len([m for m in tg.sent(77) if "agency.example/1" in m.text]) == 1

        paper.body = rss([("عاجل | " + TITLE, "https://paper.example/77?utm_source=tg", LEAD)]).encode()
        paper.etag = '"1"'
        await until(lambda: any("الصحيفة اليومية" in c.params.get("text", "")
                                for c in tg.calls_of("editMessageText")))
        assert len([m for m in tg.sent(42) if "agency.example/1" in m.text or "paper.example" in m.text]) == 1
    finally:
        daemon.stop()
        await asyncio.wait_for(run, 30)
    token_seen = [c for c in tg.calls if TOKEN in str(c.params)]
    assert token_seen == []


async def test_a_term_that_can_never_match_is_refused_and_every_chat_keeps_watching(tmp_path, tg, feed_server,
                                                                                    monkeypatch):
    monkeypatch.setenv("RAQIB_TELEGRAM_TOKEN", TOKEN)
    agency = feed_server.route("/agency.xml", text=rss([]), etag='"0"')
    config = tmp_path / "raqib.yaml"
    config.write_text(
        f"database: {tmp_path / 'raqib.db'}\nwatchlists: {WATCHLISTS}\n"
        f"feeds:\n  - {{name: agency, url: \"{feed_server.url('/agency.xml')}\"}}\n"
        "poll: {interval: 1s, min_interval: 1s, adaptive: false, backfill: 36500d, max_age: 36500d}\n"
        f"channels:\n  telegram: {{api_url: \"{tg.api_url}\", admins: [500], poll_timeout: 1}}\n",
        encoding="utf-8")
    daemon = Daemon(load_config(config)).open()
    run = asyncio.create_task(daemon.run(seconds=60))
    try:
        # tatweel alone, punctuation alone, an emoji: nothing is left to match once normalised
        for n, term in enumerate(("ـــ", "!!!", "😀")):
            tg.push_command(77, f"/watch {term}")
            await until(lambda: len(tg.texts(77)) > n)
            assert tg.texts(77)[n].startswith(f"لا أستطيع متابعة «{term}»")
        assert daemon.store.subscriptions.personal_terms() == []
        tg.push_command(77, "/lang en")
        tg.push_command(77, "/watch ـًـ")
        await until(lambda: len(tg.texts(77)) >= 5)
        assert tg.texts(77)[4].startswith("“ـًـ” cannot be watched: it has no letters or digits")

        tg.push_command(78, "/watch كييف")  # the next chat's /watch works and alerts it
        await until(lambda: tg.texts(78))
        assert "كييف" in tg.texts(78)[0] and "أضفت" in tg.texts(78)[0]
        agency.body = rss([("مباحثات في كييف حول تبادل الأسرى", "https://agency.example/9", LEAD)]).encode()
        agency.etag = '"1"'
        await until(lambda: any("agency.example/9" in m.text for m in tg.sent(78)))
        assert not any("agency.example/9" in m.text for m in tg.sent(77))
    finally:
        daemon.stop()
        await asyncio.wait_for(run, 30)


class _RawServer:
    """Answers every request with the same raw bytes (a status line no library would write)."""

    def __init__(self, answer: bytes) -> None:
        self.answer = answer
        self.hits = 0
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/feed.xml"

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(2)
                try:
                    data = b""
                    while b"\r\n\r\n" not in data:
                        chunk = conn.recv(4096)
                        if not chunk:
                            break
                        data += chunk
                    conn.sendall(self.answer)
                    self.hits += 1
                except OSError:
                    pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


def test_a_reason_phrase_of_5000_spaces_gives_the_admin_one_short_health_alert(tmp_path, tg):
    # 'HTTP/1.1 500 a<5,000 spaces>b' with health.failures: 1 once blocked the event loop in
    # the splitter until MemoryError, and SIGTERM went unheard
    feed = _RawServer(b"HTTP/1.1 500 a" + b" " * 5000 + b"b\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        metrics_port = s.getsockname()[1]
    config = tmp_path / "raqib.yaml"
    config.write_text(
        f"database: {tmp_path / 'raqib.db'}\nwatchlists: {WATCHLISTS}\n"
        f"feeds:\n  - {{name: broken, url: \"{feed.url}\"}}\n"
        "poll: {interval: 1s, min_interval: 1s, adaptive: false, backfill: 36500d, max_age: 36500d}\n"
        "health: {failures: 1}\n"
        f"metrics: {{listen: \"127.0.0.1:{metrics_port}\"}}\n"
        f"channels:\n  telegram: {{api_url: \"{tg.api_url}\", admins: [500], poll_timeout: 1}}\n",
        encoding="utf-8")
    daemon = HarnessDaemon(config, tmp_path / "logs", env={"RAQIB_TELEGRAM_TOKEN": TOKEN})
    try:
        wait_for(lambda: tg.sent(500), 60, what=f"the health alert; log: {daemon.stderr()[-2000:]}")
        time.sleep(2.0)  # nothing more follows
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/healthz", timeout=10) as answer:
            assert answer.status == 200  # the event loop still answers
        [alert] = tg.sent(500)  # one alert for one change of health
        assert "broken" in alert.text and "HTTP 500 a b" in alert.text
        assert len(alert.text) < 1000 and "  " not in alert.text
        assert daemon.stop(timeout=30) == 0  # SIGTERM heard
    finally:
        daemon.kill()
        feed.close()
