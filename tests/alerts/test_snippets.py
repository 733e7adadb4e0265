"""The name in its sentence: snippets (monitor.snippet), stored in the outbox payload by the
pipeline, and shown with where the name was found on every channel — Telegram through the
fake Bot API, email through aiosmtpd, a webhook through a local HTTP server, the console,
the web view — with the exact texts a reader sees; rows written before snippets still render."""
from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import socket
import threading
from datetime import UTC, datetime
from email import message_from_bytes
from email.policy import default as default_policy
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from aiosmtpd.controller import Controller
from hypothesis import given, settings
from hypothesis import strategies as st

from alerts.console import ConsoleChannel
from alerts.email import EmailChannel
from alerts.outbox import Deliverer
from alerts.render import alert_from_row
from alerts.telegram import TelegramChannel, render_alert, split_html
from alerts.webhook import WebhookChannel
from monitor.config import Section
from monitor.dedup import Clusterer
from monitor.match import Matcher
from monitor.models import Match, Story, Term, Watchlist
from monitor.normalize import normalize_text
from monitor.pipeline import Pipeline
from monitor.settings import DeliverySettings
from monitor.snippet import SNIPPET_CHARS, SNIPPETS_MAX, paragraph_starts, snippets
from monitor.store import OutboxRow, Store
from monitor.store.rows import row_of
from raqib.web import Desk, WebView
from raqib.web.views import body_paragraphs
from tests.support import sql
from tests.support.fake_telegram import FakeTelegram

T0 = datetime(2024, 9, 5, 14, 0, tzinfo=UTC)
TOKEN = "123456789:AAHfakeTokenForTests_abcdefghijklmno"
TITLE = "الكرملين يرد على الهجوم"
# a lead longer than Telegram's 280 characters, naming nobody
LEAD = ("قال مسؤولون إن المعارك تواصلت طوال الليل على أكثر من محور، وإن الطرفين تبادلا القصف المدفعي "
        "في مناطق عدة، فيما تحدثت تقارير عن موجة نزوح جديدة نحو الغرب، وعن أضرار واسعة لحقت بالبنية "
        "التحتية وشبكات الكهرباء والمياه في القرى الحدودية التي لم يبق فيها إلا عدد قليل من السكان المسنين "
        "بعد أن غادرها معظم أهلها خلال الأسابيع الماضية.")
KURSK = "وفي كورسك، قال الحاكم إن القوات صدت هجوما جديدا. وأضاف أن الوضع تحت السيطرة."
DUROV = ("أما بافيل دوروف، مؤسس تيليغرام، فقد أفرج عنه بكفالة في فرنسا بعد أيام من توقيفه في مطار "
         "لوبورجيه قرب باريس، وهو ما أثار جدلا واسعا حول حرية التعبير ومسؤولية المنصات عن المحتوى الذي "
         "ينشره المستخدمون عليها، وقالت محاميته إن التهم لا أساس لها.")
PARAS = [f"الفقرة رقم {i} من الخبر تتحدث عن تطورات عامة في الميدان." for i in range(1, 15)]
PARAS[6], PARAS[11] = KURSK, DUROV
BODY = "\n\n".join(PARAS)
RUSSIA = Watchlist(name="russia", title="روسيا", terms=(Term("كورسك"), Term("دوروف")),
                   notify={"telegram": ("42",), "email": ("desk@example.org",), "webhook": ("http://127.0.0.1/x",)})
KURSK_SNIPPET = "وفي كورسك، قال الحاكم إن القوات صدت هجوما جديدا."
DUROV_SNIPPET = ("أما بافيل دوروف، مؤسس تيليغرام، فقد أفرج عنه بكفالة في فرنسا بعد أيام من توقيفه في مطار "
                 "لوبورجيه قرب باريس، وهو ما أثار جدلا واسعا حول حرية التعبير ومسؤولية المنصات عن المحتوى الذي "
                 "ينشره المستخدمون عليها، وقالت محاميته…")


class Registry:
    def __init__(self, watchlists) -> None:
        self.watchlists = list(watchlists)
        self.matcher = Matcher(self.watchlists)


def ingest(store: Store, channels=("console",), watchlists=(RUSSIA,), **story) -> None:
    fields = {"feed": "agency", "guid": "1", "url": "https://agency.example/1", "title": TITLE, "summary": LEAD,
              "published": T0, "body": BODY, **story}
    Pipeline(store, Registry(watchlists), Clusterer(), channels=channels,
             clock=lambda: T0.timestamp()).ingest(fields["feed"], [Story(**fields)])


def row(store: Store, channel: str) -> OutboxRow:
    return row_of(OutboxRow, sql.outbox_rows(store, channel=channel)[0])


# -- the snippet rules ----------------------------------------------------------------------

def hit(text: str, word: str, field: str = "body", nth: int = 0, term: str | None = None) -> Match:
    start = -1
    for _ in range(nth + 1):
        start = text.index(word, start + 1)
    paragraph = sum(1 for s in paragraph_starts(text) if s <= start) if field == "body" else 0
    return Match("w", term or word, field, start, start + len(word), paragraph)


def test_the_sentence_around_the_first_hit_with_every_name_in_it_marked():
    body = "جملة أولى عن شيء آخر. وفي كورسك التقى بوتين الحاكم! جملة ثالثة عن بوتين.\n\nبوتين مرة أخرى."
    found = snippets("عنوان", "مقدمة", body, [hit(body, "كورسك"), hit(body, "بوتين"), hit(body, "بوتين", nth=1)])
    assert found == [
        {"term": "كورسك", "field": "body", "paragraph": 1, "text": "وفي كورسك التقى بوتين الحاكم!",
         "marks": [[4, 9], [16, 21]]},
        {"term": "بوتين", "field": "body", "paragraph": 1, "text": "وفي كورسك التقى بوتين الحاكم!",
         "marks": [[4, 9], [16, 21]]},
    ]


def test_the_title_comes_first_then_the_lead_then_the_body():
    title, lead, body = "بوتين يزور كورسك", "قال إن كورسك آمنة. ودوروف حر.", "دوروف وبوتين وكورسك."
    matches = [hit(body, "دوروف"), hit(lead, "دوروف", "summary"), hit(title, "كورسك", "title"),
               hit(lead, "كورسك", "summary"), hit(body, "بوتين")]
    found = snippets(title, lead, body, matches)
    assert [(s["term"], s["field"], s["text"]) for s in found] == [
        ("كورسك", "title", "بوتين يزور كورسك"), ("دوروف", "summary", "ودوروف حر."), ("بوتين", "body", body)]


def test_a_sentence_ends_at_a_full_stop_before_a_space_not_inside_a_number_or_a_link():
    text = "ارتفع المؤشر 3.5 في المئة وفق example.com اليوم في كورسك وما حولها. ثم جملة أخرى."
    [found] = snippets("", text, "", [hit(text, "كورسك", "summary")])
    assert found["text"] == "ارتفع المؤشر 3.5 في المئة وفق example.com اليوم في كورسك وما حولها."


def test_a_long_sentence_is_cut_at_spaces_with_an_ellipsis_and_the_name_inside():
    words = [f"كلمة{i}" for i in range(120)]
    words[80] = "كورسك"
    body = " ".join(words) + "."
    [found] = snippets("", "", body, [hit(body, "كورسك")])
    text = found["text"]
    assert text.startswith("…") and text.endswith("…")
    assert len(text) <= SNIPPET_CHARS + 2
    assert all(word in words for word in text.strip("…").split(" "))  # no word cut
    s, e = found["marks"][0]
    assert text[s:e] == "كورسك" and s < len(text) // 2  # more context after the name than before


def test_at_most_eight_snippets_and_a_bad_match_is_skipped():
    body = " ".join(f"اسم{i}." for i in range(12))
    matches = [hit(body, f"اسم{i}.") for i in range(12)] + [Match("w", "خطأ", "body", 10_000, 10_005, 1)]
    assert len(snippets("", "", body, matches)) == SNIPPETS_MAX


WORDS = st.sampled_from(["قال", "الرئيس", "في", "بيان", "كورسك", "لكورسك", "3.5", "<b>", "&amp;", "ـــ", "مُوسْكُو",
                         "NATO", "example.com", "(", "؟"])
SEPS = st.sampled_from([" ", "  ", ". ", "، ", "\n", "\n\n", "! ", "؟ ", " … "])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(WORDS, SEPS), min_size=1, max_size=160))
def test_snippets_never_cut_a_word_and_marks_point_at_the_names(pieces):
    """Whatever the text, every mark of a snippet covers a name the matcher found, the
    snippet's words are whole words of the text, and it stays within the bound."""
    body = "".join(w + s for w, s in pieces)
    matches = Matcher([Watchlist(name="w", title="w", terms=(Term("كورسك"), Term("موسكو")))]).match("", "", body)
    found = snippets("", "", body, matches)
    assert len(found) == len({m.term for m in matches})
    source_words = set(body.split())
    for sn in found:
        text = sn["text"]
        assert len(text) <= SNIPPET_CHARS + 2
        chunks = text.split(" ")
        if chunks[0] not in source_words and chunks[0].startswith("…"):
            chunks[0] = chunks[0][1:]  # the ellipsis of a cut start
        if chunks[-1] not in source_words and chunks[-1].endswith("…"):
            chunks[-1] = chunks[-1][:-1]
        assert all(w in source_words for w in chunks), chunks
        assert sn["marks"], "the term's own first hit is marked"
        for s, e in sn["marks"]:
            assert normalize_text(text[s:e]) in ("كورسك", "موسكو")


# -- the pipeline stores them -------------------------------------------------------------

def test_the_outbox_payload_holds_body_matches_and_snippets():
    store = Store(memory=True)
    ingest(store)
    payload = json.loads(row(store, "console").payload)
    assert [(m["term"], m["field"], m["paragraph"], BODY[m["start"]:m["end"]]) for m in payload["matches"]] == [
        ("كورسك", "body", 7, "كورسك"), ("دوروف", "body", 12, "دوروف")]
    assert payload["snippets"] == [
        {"term": "كورسك", "field": "body", "paragraph": 7, "text": KURSK_SNIPPET, "marks": [[4, 9]]},
        {"term": "دوروف", "field": "body", "paragraph": 12, "text": DUROV_SNIPPET, "marks": [[10, 15]]}]
    assert "body" not in payload  # the story row keeps the body, not every outbox row


# -- Telegram -------------------------------------------------------------------------------

TELEGRAM_TEXT = (
    "📌 روسيا\n"
    '<a href="https://agency.example/1">الكرملين يرد على الهجوم</a>\n'
    "\u200f<i>agency · 2024-09-05 14:00 UTC</i>\n\n"
    "وفي <b>كورسك</b>، قال الحاكم إن القوات صدت هجوما جديدا.\n\n"
    + DUROV_SNIPPET.replace("دوروف", "<b>دوروف</b>") + "\n"
    "الكلمات: <b>كورسك</b> (في نص الخبر، الفقرة 7)، <b>دوروف</b> (في نص الخبر، الفقرة 12)")


def test_telegram_shows_the_sentences_in_place_of_the_cut_lead_and_where_each_name_is(monkeypatch):
    monkeypatch.setenv("RAQIB_TELEGRAM_TOKEN", TOKEN)
    store = Store(memory=True)
    ingest(store, channels=("telegram",))
    with FakeTelegram() as tg:
        async def run():
            ch = TelegramChannel(Section({"api_url": tg.api_url, "polling": False}, "<test>"), store)
            try:
                assert await Deliverer(store, {"telegram": ch}, settings=DeliverySettings(burst=10)).run_once() == 1
            finally:
                await ch.close()
        asyncio.run(run())
        [msg] = tg.sent(42)
    assert msg.params["parse_mode"] == "HTML"
    assert msg.text == TELEGRAM_TEXT
    assert LEAD[:40] not in msg.text  # the cut lead is replaced, the title is not


def test_telegram_in_english_and_a_lead_that_fits_stays_whole_with_the_body_sentence_after():
    store = Store(memory=True)
    lead = "قال مسؤولون إن دوروف غادر."
    ingest(store, summary=lead)
    alert = alert_from_row(row(store, "console"))
    assert render_alert(alert, lang="en") == (
        "📌 روسيا\n"
        '<a href="https://agency.example/1">الكرملين يرد على الهجوم</a>\n'
        "\u200f<i>agency · 2024-09-05 14:00 UTC</i>\n\n"
        "قال مسؤولون إن <b>دوروف</b> غادر.\n\n"
        "وفي <b>كورسك</b>، قال الحاكم إن القوات صدت هجوما جديدا.\n"
        "\u200fTerms: <b>دوروف</b> (in the lead), <b>كورسك</b> (in the body, paragraph 7)")


def test_a_name_past_the_400th_character_of_the_lead_is_bold_in_its_sentence_on_telegram():
    store = Store(memory=True)
    lead = LEAD + " " + LEAD + " وفي الختام زار الوفد كورسك ثم عاد إلى العاصمة."
    assert lead.index("كورسك") > 400
    ingest(store, summary=lead, body="")
    text = render_alert(alert_from_row(row(store, "console")))
    assert text.split("\n")[3:] == ["", "وفي الختام زار الوفد <b>كورسك</b> ثم عاد إلى العاصمة.",
                                     "الكلمات: <b>كورسك</b> (في المقدمة)"]


def test_a_name_in_the_title_is_bold_there_and_the_lead_is_cut_as_before():
    store = Store(memory=True)
    ingest(store, title="كورسك تحت القصف", body="")
    text = render_alert(alert_from_row(row(store, "console")))
    assert '<a href="https://agency.example/1"><b>كورسك</b> تحت القصف</a>' in text
    assert "\n\n" + LEAD[:200] in text and text.count("…") == 1
    assert text.endswith("الكلمات: <b>كورسك</b> (في العنوان)")


class Balance(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.ok = True

    def handle_starttag(self, tag, attrs):
        self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack.pop() != tag:
            self.ok = False


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["كورسك", "<i>", "</b>", "&", "<", ">", "قال", "دوروف", "\u202e",
                                           "x" * 50]), SEPS), min_size=1, max_size=400))
def test_telegram_alerts_keep_tags_balanced_however_hostile_the_body(pieces):
    body = "".join(w + s for w, s in pieces)
    store = Store(memory=True)
    ingest(store, body=body)
    rows = sql.outbox_rows(store)
    for r in rows:
        text = render_alert(alert_from_row(row_of(OutboxRow, r)))
        for part in split_html(text):
            parser = Balance()
            parser.feed(part)
            parser.close()
            assert parser.ok and not parser.stack, part
        assert "\u202e" not in text


def test_a_row_written_before_snippets_still_renders_on_every_channel():
    store = Store(memory=True)
    ingest(store, title="كورسك تحت القصف", summary="قال الحاكم إن كورسك آمنة.", body="")
    old = row(store, "console")
    payload = json.loads(old.payload)
    del payload["snippets"]
    for m in payload["matches"]:
        del m["paragraph"]
    old = dataclasses.replace(old, payload=json.dumps(payload, ensure_ascii=False))
    alert = alert_from_row(old)
    assert alert.snippets == ()
    assert "قال الحاكم إن <b>كورسك</b> آمنة." in render_alert(alert)
    assert ConsoleChannel(Section({}, "<t>")).snippet_lines(alert) == []


def test_a_chats_own_terms_are_headed_in_one_language():
    store = Store(memory=True)
    mine = Watchlist(name="personal:telegram:42", title="كلماتي", terms=(Term("كورسك"),),
                     notify={"telegram": ("42",)})
    ingest(store, watchlists=(mine,), channels=("telegram",))
    # a row written with the old two-language title reads in the chat's language all the same
    old = row(store, "telegram")
    payload = json.loads(old.payload)
    payload["watchlist_title"] = "كلماتي / my terms"
    old = dataclasses.replace(old, payload=json.dumps(payload))
    ar, en = render_alert(alert_from_row(old)), render_alert(alert_from_row(old), lang="en")
    assert ar.startswith("📌 كلماتي\n") and en.startswith("\u200f📌 My terms\n")
    assert "my terms" not in ar and "كلماتي" not in en


# -- email ----------------------------------------------------------------------------------

class Inbox:
    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content, policy=default_policy))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_email_says_where_and_shows_the_sentences_in_html_and_plain_text():
    store = Store(memory=True)
    ingest(store, channels=("email",))
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        ch = EmailChannel(Section({"host": "127.0.0.1", "port": controller.port, "security": "none",
                                   "from": "رقيب <raqib@example.org>", "timeout": 5}, "raqib.yaml", 1), None)
        assert await Deliverer(store, {"email": ch}, clock=lambda: T0.timestamp()).run_once() == 1
    finally:
        controller.stop()
    [msg] = inbox.messages
    plain = msg.get_body(("plain",)).get_content().replace("\r\n", "\n")
    # 600 characters hold the lead: it is whole, the body's sentences follow
    assert ("الكلمات المطابقة: كورسك (في نص الخبر، الفقرة 7)، دوروف (في نص الخبر، الفقرة 12)\n\n" + LEAD + "\n\n"
            "وفي «كورسك»، قال الحاكم إن القوات صدت هجوما جديدا.\n\n"
            + DUROV_SNIPPET.replace("دوروف", "«دوروف»") + "\n\n--\n") in plain
    html = msg.get_body(("html",)).get_content()
    assert ("<p>الكلمات المطابقة: <mark>كورسك</mark> (في نص الخبر، الفقرة 7)، <mark>دوروف</mark> "
            "(في نص الخبر، الفقرة 12)</p>") in html
    assert '<p class="snippet">وفي <mark>كورسك</mark>، قال الحاكم إن القوات صدت هجوما جديدا.</p>' in html


# -- webhook --------------------------------------------------------------------------------

async def test_webhook_matches_carry_field_paragraph_and_snippet():
    got: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            got.append(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        wl = Watchlist(name="russia", title="روسيا", terms=RUSSIA.terms, notify={"webhook": (url,)})
        store = Store(memory=True)
        ingest(store, channels=("webhook",), watchlists=(wl,))
        ch = WebhookChannel(Section({"allow_private": True}, "<t>"), store)
        try:
            assert await Deliverer(store, {"webhook": ch}, clock=lambda: T0.timestamp()).run_once() == 1
        finally:
            await ch.close()
    finally:
        server.shutdown()
        server.server_close()
    body = json.loads(got[0])
    assert body["matches"] == [
        {"term": "كورسك", "field": "body", "start": BODY.index("كورسك"), "end": BODY.index("كورسك") + 5,
         "paragraph": 7, "snippet": KURSK_SNIPPET},
        {"term": "دوروف", "field": "body", "start": BODY.index("دوروف"), "end": BODY.index("دوروف") + 5,
         "paragraph": 12, "snippet": DUROV_SNIPPET}]
    assert body["snippets"][0] == {"term": "كورسك", "field": "body", "paragraph": 7, "text": KURSK_SNIPPET,
                                   "marks": [[4, 9]]}
    assert body["story"]["title"] == TITLE and "body" not in body["story"]


# -- console --------------------------------------------------------------------------------

async def test_console_adds_a_line_per_sentence_with_the_name_quoted_off_a_terminal():
    store = Store(memory=True)
    ingest(store)
    out = io.StringIO()
    ch = ConsoleChannel(Section({}, "<t>"), stream=out)
    assert await Deliverer(store, {"console": ch}, clock=lambda: T0.timestamp()).run_once() == 1
    first, *rest = out.getvalue().splitlines()
    assert first.endswith("  russia  agency  الكرملين يرد على الهجوم  https://agency.example/1")
    assert rest == ["  ↳ في نص الخبر، الفقرة 7: وفي «كورسك»، قال الحاكم إن القوات صدت هجوما جديدا.",
                    "  ↳ في نص الخبر، الفقرة 12: " + DUROV_SNIPPET.replace("دوروف", "«دوروف»")]
    alert = alert_from_row(row(store, "console"))
    assert ch.snippet_lines(alert, terminal=True)[0] == \
        "  ↳ في نص الخبر، الفقرة 7: وفي \x1b[1mكورسك\x1b[0m، قال الحاكم إن القوات صدت هجوما جديدا."


# -- web ------------------------------------------------------------------------------------

async def test_web_cards_show_where_and_the_sentence_even_past_the_shown_text(tmp_path: Path):
    db = tmp_path / "raqib.db"
    store = Store(db)
    far = LEAD + " " + LEAD + " وفي الختام زار الوفد كورسك ثم عاد."  # the name past the 400th character
    ingest(store, summary=far, body="")
    ingest(store, guid="2", url="https://agency.example/2", title="خبر ثان", summary="", body=BODY)
    store.close()
    view = WebView(Desk(database=db, watchlists=lambda: [RUSSIA], clock=lambda: T0.timestamp() + 60))
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=view.app), base_url="http://127.0.0.1") as c:
            page = (await c.get("/")).text
            assert ('<p class="snippet" dir="auto"><span class="where">في المقدمة:</span> '
                    "وفي الختام زار الوفد <mark>كورسك</mark> ثم عاد.</p>") in page
            assert ('<span class="term">كورسك</span> <span class="where">(في نص الخبر، الفقرة 7)</span>') in page
            assert ('<span class="where">في نص الخبر، الفقرة 12:</span> أما بافيل <mark>دوروف</mark>،') in page
            english = (await c.get("/", params={"lang": "en"})).text
            assert '<span class="where">in the lead:</span>' in english
            found = (await c.get("/search", params={"q": "كورسك"})).text
            assert "وفي الختام زار الوفد <mark>كورسك</mark> ثم عاد." in found
    finally:
        view.close()


def test_the_story_page_body_is_its_paragraphs_with_every_hit_marked():
    body = "  \nالأولى عن <كورسك>.\n\n\nالثانية: كورسك ودوروف.\n"
    matches = [Match("w", "كورسك", "body", body.index("كورسك"), body.index("كورسك") + 5, 1),
               Match("w", "كورسك", "body", body.rindex("كورسك"), body.rindex("كورسك") + 5, 2),
               Match("w", "دوروف", "body", body.index("دوروف"), body.index("دوروف") + 5, 2),
               Match("w", "كورسك", "title", 0, 5)]
    assert [str(p) for p in body_paragraphs(body, matches)] == [
        "الأولى عن &lt;<mark>كورسك</mark>&gt;.", "الثانية: <mark>كورسك</mark> و<mark>دوروف</mark>."]
    assert body_paragraphs("", matches) == ()


@pytest.fixture(autouse=True)
def _quiet_httpx_logs(caplog):
    caplog.set_level("WARNING", logger="httpx")
