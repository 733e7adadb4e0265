"""Fetcher against a real HTTP server on 127.0.0.1: conditional GET, redirects, errors."""
from __future__ import annotations

import asyncio
import hashlib
from email.utils import formatdate
from pathlib import Path

import httpx
import pytest

from monitor.decode import decode_feed
from monitor.errors import FetchError
from monitor.fetch import Fetcher, parse_retry_after
from tests.support.feedserver import FeedServer, feed_server  # noqa: F401

FEEDS = Path(__file__).parents[1] / "data" / "feeds"
BBC = FEEDS / "bbc-2018-04-10.xml"


@pytest.fixture
async def fetcher():
    f = Fetcher(connect_timeout=2, read_timeout=2, deadline=5, max_bytes=2 * 2**20)
    yield f
    await f.aclose()


async def test_ok_returns_decoded_arabic_text_and_validators(feed_server, fetcher):
    feed_server.file("/bbc.xml", BBC, etag='"v1"', last_modified="Mon, 16 Apr 2018 19:11:21 GMT",
                     headers={"Cache-Control": "public, max-age=600"})
    result = await fetcher.fetch("bbc", feed_server.url("/bbc.xml"))
    assert result.status == "ok"
    assert "روسيا: الخبراء الدوليون يصلون إلى مدينة دوما" in decode_feed(result.body, result.charset)
    assert result.etag == '"v1"'
    assert result.last_modified == "Mon, 16 Apr 2018 19:11:21 GMT"
    assert result.body_hash == hashlib.sha256(BBC.read_bytes()).hexdigest()
    assert result.max_age == 600
    assert result.permanent_url is None
    assert feed_server.requests[-1].headers["user-agent"].startswith("Raqib/")


async def test_conditional_get_sends_validators_and_reads_304(feed_server, fetcher):
    feed_server.file("/bbc.xml", BBC, etag='"v1"')
    first = await fetcher.fetch("bbc", feed_server.url("/bbc.xml"))
    second = await fetcher.fetch("bbc", feed_server.url("/bbc.xml"), etag=first.etag,
                                 body_hash=first.body_hash)
    assert second.status == "not_modified"
    assert second.body is None
    assert second.etag == '"v1"'
    assert feed_server.requests[-1].headers["if-none-match"] == '"v1"'
    assert feed_server.routes["/bbc.xml"].sent == BBC.stat().st_size  # only the first body


async def test_last_modified_alone_gives_304(feed_server, fetcher):
    stamp = formatdate(1500000000, usegmt=True)
    feed_server.file("/f.xml", BBC, last_modified=stamp)
    result = await fetcher.fetch("f", feed_server.url("/f.xml"), last_modified=stamp)
    assert result.status == "not_modified"
    assert result.last_modified == stamp


async def test_same_body_without_validators_is_unchanged_and_not_decoded(feed_server, fetcher):
    feed_server.file("/f.xml", BBC)
    first = await fetcher.fetch("f", feed_server.url("/f.xml"))
    second = await fetcher.fetch("f", feed_server.url("/f.xml"), body_hash=first.body_hash)
    assert second.status == "unchanged"
    assert second.body is None
    feed_server.routes["/f.xml"].body = BBC.read_bytes().replace("دوما".encode(), "حمص".encode(), 1)
    third = await fetcher.fetch("f", feed_server.url("/f.xml"), body_hash=first.body_hash)
    assert third.status == "ok" and "حمص" in decode_feed(third.body, third.charset)


async def test_gzip_body_is_decompressed(feed_server, fetcher):
    feed_server.file("/gz.xml", BBC, gzip=True)
    result = await fetcher.fetch("gz", feed_server.url("/gz.xml"))
    assert result.status == "ok"
    assert result.body_hash == hashlib.sha256(BBC.read_bytes()).hexdigest()
    assert feed_server.requests[-1].headers["accept-encoding"] == "gzip, deflate"


async def test_permanent_redirect_chain_reports_new_url(feed_server, fetcher):
    feed_server.file("/new.xml", BBC)
    feed_server.route("/old", status=301, location="/mid")
    feed_server.route("/mid", status=308, location="/new.xml")
    result = await fetcher.fetch("f", feed_server.url("/old"))
    assert result.status == "ok"
    assert result.url == feed_server.url("/new.xml")
    assert result.permanent_url == feed_server.url("/new.xml")


async def test_temporary_redirect_is_followed_but_not_recorded(feed_server, fetcher):
    feed_server.file("/today.xml", BBC)
    feed_server.route("/feed", status=302, location="/today.xml")
    feed_server.route("/moved", status=301, location="/feed")
    result = await fetcher.fetch("f", feed_server.url("/feed"))
    assert result.url == feed_server.url("/today.xml")
    assert result.permanent_url is None
    # 301 then 302: the feed moved for good to /feed, which redirects for now.
    moved = await fetcher.fetch("f", feed_server.url("/moved"))
    assert moved.permanent_url == feed_server.url("/feed")


async def test_gone_is_its_own_kind(feed_server, fetcher):
    feed_server.route("/dead", status=410)
    with pytest.raises(FetchError) as err:
        await fetcher.fetch("dead", feed_server.url("/dead"))
    assert err.value.kind == "gone" and err.value.status == 410 and err.value.feed == "dead"


@pytest.mark.parametrize("value,expected", [("120", 120.0), (None, None), ("soon", None)])
async def test_429_carries_retry_after(feed_server, fetcher, value, expected):
    feed_server.route("/busy", status=429, headers={"Retry-After": value} if value else {})
    with pytest.raises(FetchError) as err:
        await fetcher.fetch("busy", feed_server.url("/busy"))
    assert err.value.kind == "http" and err.value.status == 429
    assert err.value.retry_after == expected


async def test_503_retry_after_http_date(feed_server, fetcher):
    import time
    feed_server.route("/down", status=503,
                      headers={"Retry-After": formatdate(time.time() + 3600, usegmt=True)})
    with pytest.raises(FetchError) as err:
        await fetcher.fetch("down", feed_server.url("/down"))
    assert 3500 < err.value.retry_after <= 3600


def test_parse_retry_after_date_in_the_past_is_zero():
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412480 - 60) == 60.0


async def test_expires_gives_max_age(feed_server, fetcher):
    feed_server.file("/e.xml", BBC, headers={"Expires": formatdate(2_000_000_900, usegmt=True)})
    # The server's own Date header is "now"; the Expires is far ahead of it.
    result = await fetcher.fetch("e", feed_server.url("/e.xml"))
    assert result.max_age > 3600
    feed_server.file("/n.xml", BBC, headers={"Cache-Control": "no-cache, max-age=600"})
    assert (await fetcher.fetch("n", feed_server.url("/n.xml"))).max_age is None


async def test_per_host_limit_holds_under_load():
    """Twelve feeds on one host with per_host=2: the server never sees more than two at once."""
    with FeedServer() as server:
        for i in range(12):
            server.route(f"/f{i}", body=b"<rss version='2.0'><channel/></rss>", drip=0.002,
                         drip_size=8)
        watched = {"now": 0, "peak": 0}
        original = server._respond

        async def counting(*args):
            watched["now"] += 1
            watched["peak"] = max(watched["peak"], watched["now"])
            try:
                return await original(*args)
            finally:
                watched["now"] -= 1

        server._respond = counting  # the test server's own hook, not project code
        async with Fetcher(per_host=2, concurrency=10, deadline=10) as f:
            results = await asyncio.gather(*(f.fetch(f"f{i}", server.url(f"/f{i}")) for i in range(12)))
        assert all(r.status == "ok" for r in results)
        assert watched["peak"] == 2


async def test_mock_transport_works_as_transport():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content="<rss version='2.0'><channel><title>ت</title></channel></rss>".encode(),
                              headers={"Content-Type": "application/rss+xml; charset=utf-8"})

    async with Fetcher(transport=httpx.MockTransport(handler)) as f:
        result = await f.fetch("m", "http://feeds.example/rss")
    assert result.status == "ok" and "<title>ت</title>" in decode_feed(result.body, result.charset)
