"""A desk with real stories for the web view's tests: three Arabic feeds on a local feed
server, polled through the real daemon (poller → pipeline → outbox → console), then the
web view on that daemon's database.

- agency-a: the Putin story (russia-ukraine), an oil story (oil), البروتين (matches nothing);
- paper-b: the same Putin story (one cluster with agency-a's), and a football story that
  names بوتين but which russia-ukraine's `exclude: [كرة القدم]` drops;
- hostile: a feed whose title and item carry `<script>` and `<img onerror>` as text, and
  a `javascript:` link;
- broken: a feed that answers 404.

`desk_site(tmp_path)` is an async context manager yielding a `Site` (daemon, view, an
httpx client on the view through ASGITransport, the feed server).
"""
from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from raqib.daemon import Daemon
from raqib.web import Desk, WebView
from tests.support.feedserver import FeedServer
from tests.support.inprocess import close_daemons, make_daemon, poll

DATA = Path(__file__).parents[1] / "data"
FEEDS = {"agency-a": DATA / "e2e" / "agency-a.xml", "paper-b": DATA / "e2e" / "paper-b.xml",
         "hostile": DATA / "web" / "hostile.xml"}
PUTIN_TITLE = "بوتين يدعم هاريس لرئاسة أميركا.. ويؤكد استعداده لمفاوضات مع أوكرانيا"
FOOTBALL_TITLE = "مباراة كرة القدم بين فريقي بوتين والأصدقاء تنتهي بالتعادل"
ORIGIN = "http://127.0.0.1"


@dataclass
class Site:
    daemon: Daemon
    view: WebView
    client: httpx.AsyncClient
    feeds: FeedServer


@contextlib.asynccontextmanager
async def desk_site(tmp_path: Path, **view_options) -> AsyncIterator[Site]:
    made: list[Daemon] = []
    with FeedServer() as server:
        for name, path in FEEDS.items():
            server.file(f"/{name}.xml", str(path))
        server.route("/broken.xml", status=404)
        daemon, _, _ = make_daemon(made, tmp_path, {**{n: server.url(f"/{n}.xml") for n in FEEDS},
                                                    "broken": server.url("/broken.xml")})
        try:
            for name in FEEDS:  # the agency first: the paper's copy joins its cluster
                assert await poll(daemon, name) == "new"
            assert await poll(daemon, "broken") != "new"
            view = WebView(Desk(database=daemon.config.database, watchlists=daemon.watchlists,
                                clock=daemon.clock), **view_options)
            transport = httpx.ASGITransport(app=view.app)
            async with httpx.AsyncClient(transport=transport, base_url=ORIGIN) as client:
                yield Site(daemon, view, client, server)
            view.close()
        finally:
            await close_daemons(made)
