"""Extraction of an article's main text: the labelled pages, encodings, hostile HTML.

The labelled pages (tests/data/pages, see its README) are ANT stories in the furniture of
five outlets' layouts: every name found only in the article text must survive
extraction, and no name placed only in the furniture may. Hostile pages run in real
worker processes: the daemon's loop must stay free while they are read or killed.
"""
from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from monitor.article.extract import extract_article, is_read_also
from monitor.errors import ParseError
from monitor.match import Matcher
from monitor.models import Term, Watchlist
from monitor.parse_pool import ParsePool

PAGES = Path(__file__).parents[1] / "data" / "pages"
MANIFEST = json.loads((PAGES / "manifest.json").read_text(encoding="utf-8"))
MATCHER = Matcher([Watchlist(name=n, title=n, terms=(Term(n, variants=" " not in n),)) for n in MANIFEST["names"]])


def names(text: str) -> set[str]:
    return {m.watchlist for m in MATCHER.match(text)}


@pytest.fixture(scope="module")
def pool():
    parse_pool = ParsePool(2)
    yield parse_pool
    parse_pool.close()


def test_the_page_set_is_what_it_says():
    pages = MANIFEST["pages"]
    assert len(pages) >= 26
    assert {p["layout"] for p in pages} == {"aljazeera", "alarabiya", "bbc", "skynews", "france24"}
    assert {p["encoding"] for p in pages} == {"utf-8", "cp1256"}
    assert None in {p["charset"] for p in pages} and "iso-8859-1" in {p["charset"] for p in pages}
    for page in pages:
        assert page["body_only"] and page["furniture_only"], page["file"]
        feed = names(page["title"]) | names(page["description"])
        assert not feed & set(page["body_only"]), page["file"]
        raw = (PAGES / page["file"]).read_bytes().decode(page["encoding"])
        assert set(page["furniture_only"]) <= names(raw), page["file"]


@pytest.mark.parametrize("page", MANIFEST["pages"], ids=lambda p: p["file"])
def test_body_only_names_are_kept_and_furniture_only_names_dropped(page):
    body = extract_article((PAGES / page["file"]).read_bytes(), None, page["url"])
    found = names(body)
    assert set(page["body_only"]) <= found, page["file"]
    assert not set(page["furniture_only"]) & found, page["file"]
    assert "\n\n" in body and "\n\n\n" not in body
    assert "عاجل" not in body.split("\n\n")[0]


def test_the_sample_story_keeps_kursk_and_durov_in_their_paragraphs():
    body = extract_article((PAGES / "sample-putin-kursk-durov.html").read_bytes(), None)
    paragraphs = body.split("\n\n")
    durov = [i for i, p in enumerate(paragraphs) if "دوروف" in names(p)]
    assert len(durov) == 3 and durov == list(range(durov[0], durov[0] + 3))
    assert any("كورسك" in names(p) for p in paragraphs)


def test_windows_1256_and_a_wrong_or_absent_charset_still_read_as_arabic():
    for name in ("alarabiya-1.html", "skynews-1.html", "france24-1.html"):
        page = next(p for p in MANIFEST["pages"] if p["file"] == name)
        body = extract_article((PAGES / name).read_bytes(), None)
        first_words = page["description"].split()[:3]
        assert "\ufffd" not in body and len(body) > 200, name
        assert set(page["body_only"]) <= names(body), name
        assert any(w in body for w in first_words) or names(body)
    # the HTTP charset, when it says windows-1256, agrees
    assert extract_article((PAGES / "alarabiya-1.html").read_bytes(), "windows-1256") == \
        extract_article((PAGES / "alarabiya-1.html").read_bytes(), None)


@pytest.mark.parametrize("text", ["اقرأ أيضا: خبر", "اقرأ أيضاً", "إقرأ ايضا", "  اقرأ المزيد:", "طالع أيضا",
                                  "شاهد أيضاً: فيديو", "للمزيد: هنا", "واقرأ أيضا"])
def test_read_also_phrases_are_recognised(text):
    assert is_read_also(text)


@pytest.mark.parametrize("text", ["قرأ الرئيس أيضا البيان", "اقترح أيضا", "أيضا اقرأ", "المزيدات"])
def test_ordinary_sentences_are_not_read_also_boxes(text):
    assert not is_read_also(text)


def test_a_read_also_box_goes_but_the_paragraph_around_it_stays():
    article = "".join(f"<p>الفقرة {i} من الخبر تتحدث عن بوتين والمفاوضات في المنطقة اليوم.</p>" for i in range(6))
    page = (f"<html><body><article>{article}<p>قال المتحدث إن <b>اقرأ أيضا</b> ليست عبارة تنهي الفقرة "
            f"عندما تأتي في وسطها ويتحدث عن نتنياهو.</p><div><span>اقرأ أيضاً:</span> "
            f"<a href='/x'>أردوغان يزور موسكو</a></div></article></body></html>")
    body = extract_article(page.encode(), "utf-8")
    assert "نتنياهو" in names(body) and "أردوغان" not in names(body) and "بوتين" in names(body)


def test_a_page_without_an_article_gives_no_text():
    assert extract_article(b"", None) == ""
    assert extract_article(b"<html><body><nav><a href='/'>\xd8\xa7</a></nav></body></html>", None) == ""
    assert extract_article(b"\x00\x01\x02 binary \xff\xfe", None) == ""
    assert extract_article(b"%PDF-1.4\n" + bytes(range(256)) * 100, "utf-8") == ""


# -- hostile pages, in the workers ----------------------------------------------------------------

def _deep(depth: int) -> bytes:
    return b"<html><body>" + b"<div>" * depth + "نص ".encode() * 50 + b"</div>" * depth + b"</body></html>"


HOSTILE = {
    "deep nesting": _deep(200_000),
    "a 2 MiB single line": b"<html><body><p>" + ("كلمة " * 400_000).encode()[:2 * 2**20] + b"</p></body></html>",
    "entity tricks": (b'<!DOCTYPE html [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
                      b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>'
                      b"<html><body><p>&d;&d;&d;&d;&d;&d;&d;&d;</p>" + b"&#x10FFFF;&#xD800;&#0;&amp&lt;" * 100_000
                      + b"</body></html>"),
    "a million tags": b"<html><body>" + b"<p><b>x</b></p>" * 500_000 + b"</body></html>",
    "unclosed attributes": b'<html><body><div class="' + b"x" * 2**20 + b"><p>" + "نص ".encode() * 100,
}


@pytest.mark.parametrize("name", list(HOSTILE))
async def test_hostile_pages_cost_a_worker_never_the_loop(pool, name):
    gaps: list[float] = []
    stop = asyncio.Event()

    async def heartbeat() -> None:
        last = time.monotonic()
        while not stop.is_set():
            await asyncio.sleep(0.01)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    beat = asyncio.create_task(heartbeat())
    started = time.monotonic()
    try:
        body = await pool.extract("http://news.example/x", HOSTILE[name], None, deadline=3.0)
        assert isinstance(body, str) and len(body.encode()) <= 256 * 1024
    except ParseError as exc:
        assert "took longer than 3s" in exc.message
    finally:
        stop.set()
        await beat
    assert time.monotonic() - started < 3.0 + 2.0  # the deadline, then the kill
    assert max(gaps) < 0.5  # the loop was free all along
    # the pool still works after it
    good = await pool.extract("http://news.example/y", (PAGES / "bbc-2.html").read_bytes(), None, deadline=5.0)
    assert len(good) > 200


@pytest.mark.slow
async def test_extraction_past_its_deadline_kills_the_worker_and_says_so(pool):
    # 200,000 nested <div>s and 2 MiB on one line, with a deadline too short for them
    huge = _deep(400_000)
    with pytest.raises(ParseError, match="extracting the text took longer than 0.001s"):
        await pool.extract("http://news.example/x", huge, None, deadline=0.001)
