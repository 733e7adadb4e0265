"""Hostile text on the way out: splitting Telegram HTML, rendering alerts for Telegram,
e-mail and the console, and invisible bidi controls in what feeds and servers send.

The splitter and the renderers are fed arbitrary text (hypothesis): long whitespace
runs, tags, entities, astral characters (two UTF-16 units each), control and bidi
characters. They must always return, quickly, with every Telegram part within the
limit, balanced, and nothing visible lost. A title carrying U+202E (RIGHT-TO-LEFT
OVERRIDE) reaches Telegram, e-mail and the console without it.
"""
from __future__ import annotations

import asyncio
import email
import email.policy
import html
import io
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alerts.console import ConsoleChannel
from alerts.email import EmailChannel
from alerts.outbox import Deliverer
from alerts.render import plain_lines
from alerts.telegram import TelegramChannel, render_alert, render_digest, split_html, utf16_len
from monitor.config import Section
from monitor.models import Alert, Match, alert_payload
from monitor.store import Store
from tests.support.fake_telegram import FakeTelegram

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "123456789:AAHfakeTokenForTests_abcdefghijklmno"
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u061c\u206a\u206f\ufeff\u200b"
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                          HealthCheck.data_too_large])
TAG = re.compile(r"<(/?)([A-Za-z-]+)[^>]*>")


def shown(part: str) -> str:
    """What Telegram displays of an HTML part: tags dropped, entities decoded."""
    return html.unescape(re.sub(r"<[^>]*>", "", part))


def balanced(part: str) -> bool:
    stack: list[str] = []
    for closing, name in TAG.findall(part):
        if not closing:
            stack.append(name)
        elif not stack or stack.pop() != name:
            return False
    return not stack


# -- splitting ------------------------------------------------------------------------------


def test_a_whitespace_run_longer_than_a_message_is_split_at_once():
    # the feed-health alert of a server answering "HTTP/1.1 500 a<5,000 spaces>b" once made
    # the splitter loop for ever (the event loop blocked until MemoryError); a separate
    # process, so a regression fails here instead of hanging the suite
    code = ("from alerts.telegram import split_html\n"
            "parts = split_html('a' + ' ' * 5000 + 'b')\n"
            "parts += split_html('<b>x</b>' + ' \\t' * 2_000_000 + '<i>y</i>')\n"
            "print(len(parts))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout) == 4


_runs = st.builds(lambda ch, n: ch * n, st.sampled_from([" ", "\n", "\t", "\u00a0", "\u3000", " \n"]),
                  st.integers(1, 9000))
_words = st.builds(lambda ch, n: ch * n, st.sampled_from(["x", "ك", "😀", "a😀"]), st.integers(1, 6000))
_leaf = st.one_of(
    st.text(max_size=200).map(lambda s: html.escape(s, quote=False)),
    st.text(st.characters(min_codepoint=0x10000, max_codepoint=0x1FFFF), max_size=40),
    st.sampled_from(["&amp;", "&lt;", "&gt;", "&quot;", "&#128512;", "&#x1F600;", "\n", "\u200f"]),
    _runs, _words,
)
_html = st.recursive(_leaf, lambda kids: st.one_of(
    st.builds(lambda tag, inner: f"<{tag}>{''.join(inner)}</{tag}>", st.sampled_from(["b", "i", "code", "u"]),
              st.lists(kids, max_size=4)),
    st.lists(kids, max_size=4).map(lambda inner: '<a href="https://x.example/?a=1&amp;b=2">' + "".join(inner)
                                   + "</a>"),
    st.lists(kids, max_size=6).map("".join),
), max_leaves=16)


@FAST
@given(_html, st.one_of(st.just(4096), st.integers(2, 300)))
def test_split_always_fits_stays_balanced_and_keeps_the_text(text, limit):
    started = time.monotonic()
    parts = split_html(text, limit)
    assert time.monotonic() - started < 10.0  # inputs here are at most a few hundred KB
    for part in parts:
        assert utf16_len(shown(part)) <= limit
        assert balanced(part), part[:300]
        assert shown(part).strip() or not shown(text).strip()  # no empty message beside text
    assert "".join("".join(shown(p).split()) for p in parts) == "".join(shown(text).split())


def test_split_time_grows_linearly():
    def cost(unit: str, n: int) -> float:
        text = unit * n
        started = time.monotonic()
        split_html(text)
        return time.monotonic() - started

    for unit in ("<b>كلمة</b> " + "&lt;x&gt; " * 3 + " " * 50 + "\n", "<", "<i"):
        cost(unit, 200)  # warm the caches
        small, large = cost(unit, 5000), cost(unit, 20000)
        assert large < 12 * small + 0.5, unit  # 4× the text: about 4× the time, never 16×


# -- rendering --------------------------------------------------------------------------------


_field = st.one_of(st.text(max_size=300), _runs, st.builds(lambda a, b: a + b, st.text(max_size=50), _runs),
                   st.text(st.sampled_from("ab <>&\"'\n\r\t\x00\x1b\x7f\x85" + BIDI + "\u200f😀ك"), max_size=200))
_matches = st.lists(st.builds(lambda f, s, n: Match("w", "term", f, s, s + n),
                              st.sampled_from(["title", "summary"]), st.integers(-5, 400), st.integers(-3, 50)),
                    max_size=4)


def _alert(title, summary, source, url, kind, matches, sources, watchlist_title) -> Alert:
    return Alert(id=1, channel="telegram", destination="d@example.org", kind=kind, watchlist="w",
                 watchlist_title=watchlist_title, story_id=1, cluster=1, title=title, url=url,
                 summary=summary, source=source, published="2024-08-10T09:30:00+00:00",
                 matches=tuple(matches), sources=tuple(sources))


_alerts = st.builds(_alert, _field, _field, _field,
                    st.one_of(_field, st.just("https://news.example/a\u202eb"), st.just("javascript:x")),
                    st.sampled_from(["story", "spread", "update", "health"]), _matches,
                    st.lists(_field, max_size=3), _field)


def _email() -> EmailChannel:
    return EmailChannel(Section({"host": "127.0.0.1", "port": 25, "security": "none",
                                 "from": "رقيب <raqib@example.org>"}, "<test>"), None)


def _no_bidi(text: str) -> bool:
    return not any(ch in text for ch in BIDI)


@pytest.mark.slow
@FAST
@given(st.lists(_alerts, min_size=1, max_size=4), st.sampled_from(["ar", "en"]))
def test_any_alert_renders_everywhere_in_bounded_time_without_bidi_controls(alerts, lang):
    started = time.monotonic()
    mailer = _email()
    console = ConsoleChannel(Section({}, "<test>"))
    for alert in alerts:
        text = render_alert(alert, lang=lang, also=alert.sources)
        for part in split_html(text):
            assert utf16_len(shown(part)) <= 4096 and balanced(part)
        # the renderer's own RLM only ever starts a line
        assert _no_bidi(text) and "\u200f" not in text.replace("\n\u200f", "\n").lstrip("\u200f")
        line = console.line(alert)
        assert "\n" not in line and _no_bidi(line) and "\u200f" not in line
        wire = mailer.build_message(alert).as_bytes(policy=email.policy.SMTP)
        back = email.message_from_bytes(wire, policy=email.policy.default)
        assert _no_bidi(str(back["Subject"])) and "\u200f" not in str(back["Subject"])
        for body in back.walk():
            if body.get_content_maintype() == "text":
                assert _no_bidi(body.get_content())
        assert all(_no_bidi(x) for x in plain_lines(alert, 400))
        if alert.kind == "health":
            assert len(console.line(alert)) < 700
    digest = render_digest(alerts, lang=lang)
    assert _no_bidi(digest)
    for part in split_html(digest):
        assert utf16_len(shown(part)) <= 4096 and balanced(part)
    mailer.build_digest("d@example.org", alerts).as_bytes(policy=email.policy.SMTP)
    assert time.monotonic() - started < 10.0


# -- bidi overrides through the real channels ---------------------------------------------------


SPOOF = "عاجل: \u202eكورسك\u202c بوتين \u2067يلتقي\u2069 الوفد\u200e"
CLEAN = "عاجل: كورسك بوتين يلتقي الوفد"


def test_a_title_with_a_bidi_override_reaches_telegram_without_it(monkeypatch):
    monkeypatch.setenv("RAQIB_TELEGRAM_TOKEN", TOKEN)
    store = Store(memory=True)
    start = SPOOF.index("بوتين")
    payload = alert_payload(title=SPOOF, url="https://news.example/\u202e1", summary="ملخص \u202eمقلوب",
                            source="agency\u202e", published=None, watchlist_title="روسيا",
                            matches=[Match("russia", "بوتين", "title", start, start + 5)])
    with store.transaction() as conn:
        store.outbox.enqueue(conn, channel="telegram", destination="42", kind="story", watchlist="russia", cluster=1,
                      story_id=1, payload=payload, now=0.0)

    async def run(tg: FakeTelegram) -> None:
        channel = TelegramChannel(Section({"api_url": tg.api_url, "polling": False}, "<test>"), store)
        try:
            assert await Deliverer(store, {"telegram": channel}).run_once() == 1
        finally:
            await channel.close()

    with FakeTelegram() as tg:
        asyncio.run(run(tg))
        [msg] = tg.sent(42)
    assert _no_bidi(msg.text)
    assert CLEAN.replace("بوتين", "<b>بوتين</b>") in msg.text
    assert "ملخص مقلوب" in msg.text and "agency" in msg.text
    assert 'href="https://news.example/%E2%80%AE1"' in msg.text
    store.close()


def test_a_title_with_a_bidi_override_reaches_email_and_the_console_without_it():
    alert = _alert(SPOOF, "ملخص \u202eمقلوب", "agency\u202e", "https://news.example/\u202e1", "story", (),
                   ("bbc\u2066",), "روسيا\u202e")
    msg = _email().build_message(alert)
    back = email.message_from_bytes(msg.as_bytes(policy=email.policy.SMTP), policy=email.policy.default)
    assert str(back["Subject"]) == f"رقيب — روسيا: {CLEAN}"
    plain = back.get_body(("plain",)).get_content()
    page = back.get_body(("html",)).get_content()
    for body in (plain, page):
        assert _no_bidi(body) and CLEAN in body and "ملخص مقلوب" in body
    assert "https://news.example/%E2%80%AE1" in plain
    out = io.StringIO()
    console = ConsoleChannel(Section({}, "<test>"), stream=out)
    asyncio.run(console.send(alert))
    line = out.getvalue()
    assert line.count("\n") == 1 and _no_bidi(line)
    assert f"agency  {CLEAN}  https://news.example/%E2%80%AE1" in line


def test_a_health_alert_quoting_a_server_is_one_short_line_in_every_renderer():
    reason = "3 consecutive failures, last: HTTP 500 a" + " " * 5000 + "\x1b[31mb\u202e" + "c" * 3000
    alert = _alert(f"⚠️ مشكلة في المصدر / feed unhealthy: slow — {reason}", reason, "slow",
                   "http://127.0.0.1/feed.xml", "health", (), (), "feed health")
    text = render_alert(alert)
    assert len(split_html(text)) == 1 and len(text) < 1000
    assert "HTTP 500 a [31mbccc" in text and "\x1b" not in text and _no_bidi(text)
    line = ConsoleChannel(Section({}, "<test>")).line(alert)
    assert len(line) < 700 and "\x1b" not in line
    msg = _email().build_message(alert)
    assert len(msg.get_body(("plain",)).get_content()) < 1500
