"""The article reader against real local HTTP servers: safety, politeness, failures in words.

Public names are played by the guarded transport's seams (as in test_fetch_guard): a DNS
that answers a public address for `*.example`, and a network where that address leads
to the local server. (A page on its feed's own origin goes through the plain transport,
which those seams do not reach: so the public feed here is on another name.) Anything on 127.0.0.1 itself is a private address, reachable only as
its feed's own origin. Extraction runs in a real ParsePool.
"""
from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpcore
import pytest

from monitor.article import USER_AGENT, ArticleReader
from monitor.article.reader import HOSTS_MAX, PROJECT_URL
from monitor.parse_pool import ParsePool
from monitor.settings import FulltextSettings
from tests.support.feedserver import FeedServer, closed_port, feed_server  # noqa: F401  (the fixture)

PAGES = Path(__file__).parents[1] / "data" / "pages"
PAGE = (PAGES / "bbc-1.html").read_bytes()
HTML = "text/html; charset=utf-8"
PUBLIC = "93.184.216.34"
FAST = FulltextSettings(interval=0.0, timeout=2.0, deadline=2.0, extract_deadline=5.0)


class DNS:
    """Every *.example name is the one public address; anything else does not resolve."""

    async def __call__(self, host: str, port: int) -> list[str]:
        if host.endswith(".example"):
            return [PUBLIC]
        raise OSError(f"no such host {host}")


class Network(httpcore.AsyncNetworkBackend):
    """The public address leads to the local server's port."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.real = httpcore.AnyIOBackend()

    async def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        if host != PUBLIC:
            raise httpcore.ConnectError(f"no route to {host}")
        return await self.real.connect_tcp("127.0.0.1", self.port, timeout=timeout)

    async def sleep(self, seconds: float) -> None:
        await self.real.sleep(seconds)


# pacing, back-off and deadlines are waited out on the clock, and the pool starts processes
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pool():
    parse_pool = ParsePool(2)
    yield parse_pool
    parse_pool.close()


def reader_for(server: FeedServer, pool: ParsePool, settings: FulltextSettings = FAST) -> ArticleReader:
    return ArticleReader(settings, pool=pool, resolver=DNS(), network=Network(server.port))


def public(server: FeedServer, path: str, host: str = "news.example") -> str:
    return f"http://{host}:{server.port}{path}"


FEED = "http://feeds.example/rss"  # a public feed; its pages on news.example (another origin)


def hits(server: FeedServer, path: str) -> int:
    return server.routes[path].hits if path in server.routes else 0


# -- the private-address rule -----------------------------------------------------------------

async def test_a_public_page_is_read_and_its_text_extracted(feed_server, pool):
    feed_server.route("/news/1", body=PAGE, content_type=HTML)
    async with reader_for(feed_server, pool) as reader:
        result = await reader.read(public(feed_server, "/news/1"), feed_url=FEED)
    assert result.ok and result.reason == "" and result.fetches == 1
    assert "أردوغان" in result.body and "\n\n" in result.body
    assert "الأكثر قراءة" not in result.body


async def test_an_item_cannot_point_at_a_private_address(feed_server, pool):
    feed_server.route("/admin", body=PAGE, content_type=HTML)
    async with reader_for(feed_server, pool) as reader:
        result = await reader.read(feed_server.url("/admin"), feed_url=FEED)
    assert not result.ok and result.reason == "private address refused" and result.body == ""
    assert hits(feed_server, "/admin") == 0


async def test_a_private_feed_may_read_its_own_host_and_port_only(feed_server, pool):
    feed_server.route("/news/1", body=PAGE, content_type=HTML)
    other = FeedServer().start()
    try:
        other.route("/news/1", body=PAGE, content_type=HTML)
        async with reader_for(feed_server, pool) as reader:
            own = await reader.read(feed_server.url("/news/1"), feed_url=feed_server.url("/rss"))
            other_port = await reader.read(other.url("/news/1"), feed_url=feed_server.url("/rss"))
            other_scheme = await reader.read(feed_server.url("/news/1"),
                                             feed_url=feed_server.url("/rss", scheme="https"))
        assert own.ok
        assert other_port.reason == "private address refused" and other.routes["/news/1"].hits == 0
        assert other_scheme.reason == "private address refused"
        assert hits(feed_server, "/news/1") == 1
    finally:
        other.close()


async def test_a_redirect_from_a_public_page_into_the_local_network_is_refused_at_that_hop(feed_server, pool):
    feed_server.route("/moved", status=302, location=feed_server.url("/secret"))
    feed_server.route("/secret", body=PAGE, content_type=HTML)
    async with reader_for(feed_server, pool) as reader:
        result = await reader.read(public(feed_server, "/moved"), feed_url=FEED)
    assert result.reason == "private address refused" and result.fetches == 1
    assert hits(feed_server, "/moved") == 1 and hits(feed_server, "/secret") == 0


async def test_a_redirect_from_the_feeds_private_host_to_another_private_one_is_refused(feed_server, pool):
    other = FeedServer().start()
    try:
        other.route("/secret", body=PAGE, content_type=HTML)
        feed_server.route("/moved", status=302, location=other.url("/secret"))
        async with reader_for(feed_server, pool) as reader:
            result = await reader.read(feed_server.url("/moved"), feed_url=feed_server.url("/rss"))
        assert result.reason == "private address refused"
        assert other.routes["/secret"].hits == 0
    finally:
        other.close()


async def test_a_redirect_back_to_the_feeds_own_private_origin_is_allowed(feed_server, pool):
    feed_server.route("/short", status=301, location=feed_server.url("/news/1"))
    feed_server.route("/news/1", body=PAGE, content_type=HTML)
    async with reader_for(feed_server, pool) as reader:
        result = await reader.read(public(feed_server, "/short"), feed_url=feed_server.url("/rss"))
    assert result.ok and result.final_url == feed_server.url("/news/1")


# -- robots.txt ---------------------------------------------------------------------------------

async def test_robots_txt_is_honoured_and_asked_once_per_host(feed_server, pool):
    feed_server.route("/robots.txt", text="User-agent: *\nDisallow: /private/\n\nUser-agent: Raqib\n"
                                          "Disallow: /members/\n", content_type="text/plain")
    feed_server.route("/members/1", body=PAGE, content_type=HTML)
    feed_server.route("/private/1", body=PAGE, content_type=HTML)
    feed_server.route("/news/1", body=PAGE, content_type=HTML)
    settings = FulltextSettings(interval=0.0, robots=True)
    async with reader_for(feed_server, pool, settings) as reader:
        feed = FEED
        refused = await reader.read(public(feed_server, "/members/1"), feed_url=feed)
        allowed = await reader.read(public(feed_server, "/private/1"), feed_url=feed)  # Raqib's group rules
        again = await reader.read(public(feed_server, "/news/1"), feed_url=feed)
    assert refused.reason == "robots.txt disallows it" and refused.fetches == 0
    assert hits(feed_server, "/members/1") == 0
    assert allowed.ok and again.ok
    assert hits(feed_server, "/robots.txt") == 1


async def test_no_robots_txt_allows_everything_and_an_unreachable_one_refuses(feed_server, pool):
    feed_server.route("/news/1", body=PAGE, content_type=HTML)
    settings = FulltextSettings(interval=0.0)
    async with reader_for(feed_server, pool, settings) as reader:
        absent = await reader.read(public(feed_server, "/news/1"), feed_url=FEED)
        feed_server.route("/robots.txt", status=503)
        down = await reader.read(public(feed_server, "/news/1", "other.example"),
                                 feed_url=FEED)
    assert absent.ok
    assert down.reason.startswith("robots.txt could not be read") and hits(feed_server, "/news/1") == 1


async def test_robots_off_reads_without_asking(feed_server, pool):
    feed_server.route("/robots.txt", text="User-agent: *\nDisallow: /\n", content_type="text/plain")
    feed_server.route("/news/1", body=PAGE, content_type=HTML)
    async with reader_for(feed_server, pool, FulltextSettings(interval=0.0, robots=False)) as reader:
        result = await reader.read(public(feed_server, "/news/1"), feed_url=FEED)
    assert result.ok and hits(feed_server, "/robots.txt") == 0


# -- pacing and back-off ----------------------------------------------------------------------

async def test_one_host_is_paced_and_two_hosts_do_not_wait_on_each_other(feed_server, pool):
    for i in range(3):
        feed_server.route(f"/news/{i}", body=PAGE, content_type=HTML, delay=0.05)
    settings = FulltextSettings(interval=0.8, per_host=1, robots=False)
    async with reader_for(feed_server, pool, settings) as reader:
        feed = FEED
        results = await asyncio.gather(
            *(reader.read(public(feed_server, f"/news/{i}", "a.example"), feed_url=feed) for i in range(3)),
            reader.read(public(feed_server, "/news/0", "b.example"), feed_url=feed))
    assert all(r.ok for r in results)
    on_a = sorted(r.at for r in feed_server.requests if r.headers["host"].startswith("a.example"))
    on_b = [r.at for r in feed_server.requests if r.headers["host"].startswith("b.example")]
    assert len(on_a) == 3 and len(on_b) == 1
    # starts 0.8 s apart; their arrivals differ by the first connection's set-up at most
    assert all(later - earlier >= 0.7 for earlier, later in zip(on_a, on_a[1:], strict=False)), on_a
    assert on_b[0] < on_a[1] - 0.3  # b's first fetch did not wait for a's interval


async def test_per_host_bounds_the_fetches_at_once(feed_server, pool):
    for i in range(4):
        feed_server.route(f"/news/{i}", body=PAGE, content_type=HTML, delay=0.6)
    settings = FulltextSettings(interval=0.0, per_host=2, robots=False)
    async with reader_for(feed_server, pool, settings) as reader:
        feed = FEED
        started = time.monotonic()
        await asyncio.gather(*(reader.read(public(feed_server, f"/news/{i}"), feed_url=feed) for i in range(4)))
    arrivals = sorted(r.at - started for r in feed_server.requests)
    assert arrivals[1] < 0.25 and arrivals[2] >= 0.28  # two at once, then the next two


async def test_retry_after_on_429_is_honoured_and_retried_once(feed_server, pool):
    feed_server.route("/news/1", status=429, headers={"Retry-After": "1"}, content_type=HTML)
    settings = FulltextSettings(interval=0.0, robots=False)
    async with reader_for(feed_server, pool, settings) as reader:
        result = await reader.read(public(feed_server, "/news/1"), feed_url=FEED)
    assert result.reason == "the site asked us to slow down (HTTP 429)" and result.fetches == 2
    first, second = [r.at for r in feed_server.requests]
    assert second - first >= 0.95
    assert hits(feed_server, "/news/1") == 2


async def test_a_503_closes_its_host_for_a_back_off_that_other_reads_wait_for(feed_server, pool):
    feed_server.route("/busy", status=503, content_type=HTML)
    feed_server.route("/news/1", body=PAGE, content_type=HTML)
    settings = FulltextSettings(interval=0.0, robots=False)
    async with reader_for(feed_server, pool, settings) as reader:
        feed = FEED
        busy = await reader.read(public(feed_server, "/busy"), feed_url=feed)
        after = await reader.read(public(feed_server, "/news/1"), feed_url=feed)
    assert busy.reason == "server error (HTTP 503)" and busy.fetches == 2
    times = [r.at for r in feed_server.requests]
    assert times[1] - times[0] >= 0.95  # back-off of at least 1 s before the retry
    assert times[2] - times[1] >= 1.9  # ... doubled after the second 503
    assert after.ok


async def test_a_host_closed_for_long_is_not_fetched(feed_server, pool):
    feed_server.route("/news/1", status=429, headers={"Retry-After": "3600"}, content_type=HTML)
    feed_server.route("/news/2", body=PAGE, content_type=HTML)
    settings = FulltextSettings(interval=0.0, robots=False)
    async with reader_for(feed_server, pool, settings) as reader:
        feed = FEED
        first = await reader.read(public(feed_server, "/news/1"), feed_url=feed)
        second = await reader.read(public(feed_server, "/news/2"), feed_url=feed)
    assert first.fetches == 1  # Retry-After beyond the retry's reach: no retry
    assert second.fetches == 0 and second.reason.startswith("the site asked us to wait")
    assert hits(feed_server, "/news/2") == 0


# -- failures, each in words, retried once at most -----------------------------------------------

@pytest.mark.parametrize("route, reason, fetches", [
    ({"status": 404}, "page not found (HTTP 404)", 1),
    ({"status": 410}, "page removed (HTTP 410)", 1),
    ({"status": 403}, "access refused (HTTP 403)", 1),
    ({"status": 500}, "server error (HTTP 500)", 2),
    ({"status": 502}, "server error (HTTP 502)", 2),
    ({"length": 2 * 2**20}, "page larger than 1 MiB", 1),
    ({"body": b"<html><body><nav><a href='/'>\xd8\xa7</a></nav></body></html>"}, "no article text on the page", 1),
    ({"status": 302, "location": "/loop"}, "too many redirects", 1),
])
async def test_each_failure_is_said_in_words_and_retried_only_when_it_may_pass(feed_server, pool, route, reason,
                                                                               fetches):
    feed_server.route("/loop", content_type=HTML, **route)
    settings = FulltextSettings(interval=0.0, robots=False, max_bytes=2**20)
    async with reader_for(feed_server, pool, settings) as reader:
        result = await reader.read(public(feed_server, "/loop"), feed_url=FEED)
    assert (result.reason, result.fetches, result.body, result.ok) == (reason, fetches, "", False)
    if reason != "too many redirects":
        assert hits(feed_server, "/loop") == fetches


async def test_a_page_that_drips_times_out_at_the_deadline_and_is_retried_once(feed_server, pool):
    feed_server.route("/slow", body=PAGE, content_type=HTML, drip=0.2, drip_size=64)
    settings = FulltextSettings(interval=0.0, robots=False, deadline=1.0, timeout=1.0)
    async with reader_for(feed_server, pool, settings) as reader:
        result = await reader.read(public(feed_server, "/slow"), feed_url=FEED)
    assert result.reason == "timed out after 1 s" and result.fetches == 2
    assert hits(feed_server, "/slow") == 2


async def test_a_refused_connection_is_retried_once(pool):
    port = closed_port()
    settings = FulltextSettings(interval=0.0, robots=False)
    async with ArticleReader(settings, pool=pool, resolver=DNS(), network=Network(port)) as reader:
        result = await reader.read(f"http://news.example:{port}/a", feed_url=f"http://news.example:{port}/rss")
    assert result.reason.startswith("could not connect") and result.fetches == 2


async def test_not_a_web_address(feed_server, pool):
    async with reader_for(feed_server, pool) as reader:
        for url in ("ftp://news.example/a", "javascript:alert(1)", "", "http:///x"):
            result = await reader.read(url, feed_url=FEED)
            assert result.reason == "not a web address" and result.fetches == 0


async def test_the_user_agent_names_raqib_and_its_project(feed_server, pool):
    feed_server.route("/news/1", body=PAGE, content_type=HTML)
    async with reader_for(feed_server, pool, FulltextSettings(interval=0.0)) as reader:
        await reader.read(public(feed_server, "/news/1"), feed_url=FEED)
    agents = {r.headers["user-agent"] for r in feed_server.requests}
    assert agents == {USER_AGENT}  # robots.txt and the page alike
    assert USER_AGENT.startswith("Raqib/") and PROJECT_URL in USER_AGENT


async def test_a_read_cancelled_mid_fetch_ends_at_once_and_cleanly(feed_server, pool):
    feed_server.route("/slow", body=PAGE, content_type=HTML, drip=0.1, drip_size=16)
    reader = reader_for(feed_server, pool, FulltextSettings(interval=0.0, robots=False, deadline=30.0))
    task = asyncio.create_task(reader.read(public(feed_server, "/slow"), feed_url=FEED))
    while hits(feed_server, "/slow") == 0:
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.2)
    started = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await reader.aclose()
    assert time.monotonic() - started < 1.0
    sent = feed_server.routes["/slow"].sent
    await asyncio.sleep(0.4)
    assert feed_server.routes["/slow"].sent - sent <= 16 * 2  # the server stopped being read


async def test_robots_txt_is_asked_again_once_its_day_is_over(feed_server, pool):
    feed_server.route("/robots.txt", text="User-agent: *\nDisallow: /old/\n", content_type="text/plain")
    feed_server.route("/news/1", body=PAGE, content_type=HTML)
    now = [1000.0]
    settings = FulltextSettings(interval=0.0)
    async with ArticleReader(settings, pool=pool, resolver=DNS(), network=Network(feed_server.port),
                             clock=lambda: now[0]) as reader:
        url = public(feed_server, "/news/1")
        assert (await reader.read(url, feed_url=FEED)).ok
        now[0] += 23 * 3600
        assert (await reader.read(url, feed_url=FEED)).ok
        assert hits(feed_server, "/robots.txt") == 1
        now[0] += 2 * 3600
        feed_server.route("/robots.txt", text="User-agent: *\nDisallow: /news/\n", content_type="text/plain")
        refused = await reader.read(url, feed_url=FEED)
    assert hits(feed_server, "/robots.txt") == 1  # the route was replaced: its own count starts again
    assert refused.reason == "robots.txt disallows it"


SIGTERM_SCRIPT = """
import asyncio, signal, sys
from monitor.article import ArticleReader
from monitor.parse_pool import ParsePool
from monitor.settings import FulltextSettings

async def main(url):
    pool = ParsePool(2)
    reader = ArticleReader(FulltextSettings(interval=0.0, robots=False, deadline=60.0), pool=pool)
    task = asyncio.create_task(reader.read(url, feed_url=url))
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    print("reading", flush=True)
    try:
        await task
        print("read", flush=True)
    except asyncio.CancelledError:
        print("stopped", flush=True)
    finally:
        await reader.aclose()
        pool.close()

asyncio.run(main(sys.argv[1]))
"""


def test_sigterm_mid_fetch_ends_the_process_cleanly(feed_server):
    feed_server.route("/slow", body=PAGE, content_type=HTML, drip=0.1, drip_size=16)
    proc = subprocess.Popen([sys.executable, "-c", SIGTERM_SCRIPT, feed_server.url("/slow")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while feed_server.routes["/slow"].sent < 64 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert feed_server.routes["/slow"].sent >= 64  # mid-fetch
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert out.split() == ["reading", "stopped"]
    assert time.monotonic() - started < 3
    assert "Traceback" not in err


async def test_hosts_are_remembered_within_a_bound(feed_server, pool):
    feed_server.route("/news/1", body=PAGE, content_type=HTML)
    async with reader_for(feed_server, pool, FulltextSettings(interval=0.0, robots=False)) as reader:
        for i in range(HOSTS_MAX + 10):
            reader._host(f"http://h{i}.example/x")
        assert len(reader._hosts) <= HOSTS_MAX + 1
        assert (await reader.read(public(feed_server, "/news/1"), feed_url=FEED)).ok
