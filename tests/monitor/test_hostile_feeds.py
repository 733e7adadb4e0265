"""Hostile feeds, each served by a real HTTP server on 127.0.0.1 and taken through
fetch → decode → parse as the poller does. Every one must end in stories or in a
FetchError/ParseError naming the feed, quickly and without unbounded memory."""
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest

from monitor.decode import decode_feed
from monitor.errors import FetchError, ParseError
from monitor.fetch import Fetcher
from monitor.parse import ParsedFeed, parse_feed_async
from tests.support.feedserver import closed_port, feed_server, gzip_bomb  # noqa: F401

HOSTILE = Path(__file__).parents[1] / "data" / "feeds" / "hostile"
NOW = datetime(2025, 1, 6, 12, 0, tzinfo=UTC)
# The titles of the first five items of the BBC Arabic sample, as published.
BBC_TITLES = [
    "روسيا: الخبراء الدوليون يصلون إلى مدينة دوما السورية الأربعاء",
    "منظمة حظر الأسلحة الكيمياوية: محطات رئيسية",
]
CAP = 2 * 2**20


@pytest.fixture
async def fetcher():
    f = Fetcher(connect_timeout=1, read_timeout=1, deadline=1.5, max_bytes=CAP, max_redirects=5)
    yield f
    await f.aclose()


async def poll(fetcher: Fetcher, url: str, feed: str = "hostile") -> ParsedFeed:
    result = await fetcher.fetch(feed, url)
    assert result.status == "ok"
    return await parse_feed_async(feed, decode_feed(result.body, result.charset), result.url, NOW)


async def test_malformed_xml_keeps_its_items(feed_server, fetcher):
    body = (HOSTILE / "malformed.xml").read_bytes()
    assert feedparser.parse(body).bozo  # it is malformed indeed
    feed_server.route("/m.xml", body=body)
    parsed = await poll(fetcher, feed_server.url("/m.xml"))
    assert parsed.title == "BBC Arabic & friends"
    assert [s.title for s in parsed.stories[:2]] == BBC_TITLES
    assert len(parsed.stories) == 5


@pytest.mark.parametrize("name", ["entity-bomb.xml", "entity-bomb-oneline.xml"])
async def test_entity_bomb_is_not_expanded(feed_server, fetcher, name):
    feed_server.route("/bomb.xml", body=(HOSTILE / name).read_bytes())
    parsed = await poll(fetcher, feed_server.url("/bomb.xml"))
    assert len(parsed.stories) == 1
    title = parsed.stories[0].title
    assert title.startswith("خبر") and len(title) < 100
    assert "lollollol" not in title


async def test_100_mb_body_with_length_is_refused_before_download(feed_server, fetcher):
    route = feed_server.route("/big.xml", length=100 * 2**20)
    with pytest.raises(FetchError) as err:
        await fetcher.fetch("big", feed_server.url("/big.xml"))
    assert err.value.kind == "too_large" and err.value.feed == "big"
    assert route.sent < 20 * 2**20


async def test_100_mb_body_without_length_stops_at_the_cap(feed_server, fetcher):
    route = feed_server.route("/big.xml", length=100 * 2**20, send_length=False)
    with pytest.raises(FetchError) as err:
        await fetcher.fetch("big", feed_server.url("/big.xml"))
    assert err.value.kind == "too_large"
    assert route.sent < 20 * 2**20


async def test_gzip_bomb_stops_at_the_cap_after_decompression(feed_server, fetcher):
    bomb = gzip_bomb(64 * 2**20)
    assert len(bomb) < CAP  # small on the wire: only decompression shows its size
    feed_server.route("/gz.xml", body=bomb, raw_encoding="gzip")
    with pytest.raises(FetchError) as err:
        await fetcher.fetch("gz", feed_server.url("/gz.xml"))
    assert err.value.kind == "too_large"


async def test_dripping_server_hits_the_total_deadline(feed_server, fetcher):
    body = (HOSTILE / "empty.xml").read_bytes() * 4
    # One byte every 50 ms: the read timeout (1 s) never fires, the deadline (1.5 s) does.
    route = feed_server.route("/drip.xml", body=body, drip=0.05)
    with pytest.raises(FetchError) as err:
        await fetcher.fetch("drip", feed_server.url("/drip.xml"))
    assert err.value.kind == "timeout"
    assert 0 < route.sent < len(body)


async def test_redirect_loop(feed_server, fetcher):
    feed_server.route("/a", status=302, location="/b")
    feed_server.route("/b", status=301, location="/a")
    with pytest.raises(FetchError) as err:
        await fetcher.fetch("loop", feed_server.url("/a"))
    assert err.value.kind == "redirect_loop"
    assert feed_server.routes["/a"].hits + feed_server.routes["/b"].hits == 6  # 1 + 5 redirects


@pytest.mark.parametrize("status", [500, 502, 404])
async def test_server_errors(feed_server, fetcher, status):
    feed_server.route("/err", status=status, body=b"<html>oops</html>", content_type="text/html")
    with pytest.raises(FetchError) as err:
        await fetcher.fetch("err", feed_server.url("/err"))
    assert err.value.kind == "http" and err.value.status == status
    assert f"HTTP {status}" in str(err.value) and "feed err" in str(err.value)


async def test_connection_refused(fetcher):
    with pytest.raises(FetchError) as err:
        await fetcher.fetch("refused", f"http://127.0.0.1:{closed_port()}/rss")
    assert err.value.kind == "network"


async def test_tls_handshake_against_a_plain_http_socket(feed_server, fetcher):
    feed_server.route("/rss", body=(HOSTILE / "empty.xml").read_bytes())
    with pytest.raises(FetchError) as err:
        await fetcher.fetch("tls", feed_server.url("/rss", scheme="https"))
    assert err.value.kind == "tls"


async def test_html_instead_of_a_feed_is_a_parse_error(feed_server, fetcher):
    feed_server.route("/page", body=(HOSTILE / "page.html").read_bytes(),
                      content_type="text/html; charset=utf-8")
    with pytest.raises(ParseError) as err:
        await poll(fetcher, feed_server.url("/page"), feed="ministry")
    assert err.value.feed == "ministry" and err.value.kind == "parse"
    assert "not a feed" in str(err.value)


@pytest.mark.parametrize("junk", [b"", b"\x00\x01\x02garbage\xff" * 50, b"{\"json\": true}"])
async def test_junk_is_a_parse_error(feed_server, fetcher, junk):
    feed_server.route("/junk", body=junk)
    with pytest.raises(ParseError):
        await poll(fetcher, feed_server.url("/junk"))


async def test_empty_feed_has_no_stories(feed_server, fetcher):
    feed_server.route("/empty.xml", body=(HOSTILE / "empty.xml").read_bytes())
    parsed = await poll(fetcher, feed_server.url("/empty.xml"))
    assert parsed.stories == [] and parsed.title == "BBC Arabic"
    assert parsed.ttl_seconds == 15 * 60


async def test_cp1256_labelled_utf8_reads_as_arabic(feed_server, fetcher):
    body = (HOSTILE / "cp1256-labelled-utf8.xml").read_bytes()
    # feedparser on its own cannot read it: what it returns is not the Arabic title.
    alone = feedparser.parse(body, response_headers={"content-type": "application/rss+xml; charset=utf-8"})
    assert [e.title for e in alone.entries[:1]] != BBC_TITLES[:1]
    feed_server.route("/cp.xml", body=body)  # served with charset=utf-8
    parsed = await poll(fetcher, feed_server.url("/cp.xml"))
    assert [s.title for s in parsed.stories[:2]] == BBC_TITLES


async def test_utf8_with_two_stray_bytes_keeps_its_arabic(feed_server, fetcher):
    body = (HOSTILE / "utf8-two-stray-bytes.xml").read_bytes()
    alone = feedparser.parse(body)
    assert alone.entries[0].title != BBC_TITLES[0]  # feedparser falls back to a Latin charset
    feed_server.route("/s.xml", body=body)
    parsed = await poll(fetcher, feed_server.url("/s.xml"))
    assert parsed.stories[0].title == BBC_TITLES[0]
    assert parsed.stories[1].title.replace("\ufffd", "") == BBC_TITLES[1]
    assert len(parsed.stories) == 5


async def test_wrong_http_charset_loses_to_correct_xml_declaration(feed_server, fetcher):
    body = (HOSTILE / "cp1256-declared.xml").read_bytes()
    headers = {"content-type": "application/rss+xml; charset=iso-8859-1"}
    assert feedparser.parse(body, response_headers=headers).entries[0].title != BBC_TITLES[0]
    feed_server.route("/w.xml", body=body, content_type=headers["content-type"])
    parsed = await poll(fetcher, feed_server.url("/w.xml"))
    assert [s.title for s in parsed.stories[:2]] == BBC_TITLES
