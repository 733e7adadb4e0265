"""`raqib demo`: the real daemon, against real Arabic feeds served on 127.0.0.1.

The bundled feeds (raqib/demo_data/feeds) are five outlets' real items from 10–16 April
2018, plus the agency story about Putin, Kursk and Durov as an item of the Sky News
Arabia feed. A small HTTP server (with Last-Modified, so the second poll is a 304)
serves them from a temporary folder. The items are old news, which a real desk never
hears about (`poll.backfill`, `poll.max_age`): the demo's config sets both far back so
they alert. The daemon runs for `--seconds` with a temporary
SQLite database and the console channel, prints each alert as it is raised, and a
summary at the end.

Each item's article page is served too: its link is rewritten to a page on the same
server (the feed's own origin, which the article reader may read although it is
127.0.0.1), built from the item's title and text wrapped in an outlet's furniture
(navigation, a breaking-news ticker, a "read also" box, most-read, a footer). The
Putin/Kursk/Durov item carries only its first paragraph in the feed; its page has the
whole story (raqib/demo_data/articles), so كورسك and دوروف are in the body alone, and
its read-also box names زيلينسكي, which must not alert.
With `--serve` the feeds, the daemon and its web view keep running
until Ctrl-C (SIGINT or SIGTERM), and the web view's address is printed first, so the
desk can be clicked through.
"""
from __future__ import annotations

import asyncio
import html
import re
import shutil
import socket
import sys
import tempfile
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path

from monitor.config import load_config
from monitor.store import Store

from .daemon import Daemon

OUTLETS = {  # polled in this order: the feed with the agency story first, so its page is read at once
    "skynews-arabia": "skynews-2018-04-10.xml",
    "alarabia": "alarabia-2018-04-10.xml",
    "bbc-arabic": "bbc-2018-04-10.xml",
    "cnn-arabic": "cnn-2018-04-10.xml",
    "france24-ar": "france24-2018-04-10.xml",
}


class _QuietHandler(SimpleHTTPRequestHandler):
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".xml": "application/rss+xml; charset=utf-8"}

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass


class FeedServer:
    """Serve a folder on 127.0.0.1 on a free port, in a background thread."""

    def __init__(self, folder: Path) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(folder)))
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> FeedServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def bundled(path: str) -> Path:
    return Path(str(resources.files("raqib") / "demo_data" / path))


def default_watchlists() -> Path:
    here = Path("watchlists")
    if here.is_dir() and any(here.glob("*.y*ml")):
        return here.resolve()
    return bundled("watchlists")


SAMPLE_GUID = "raqib-demo-putin-kursk-durov"
SAMPLE_FEED = "skynews-arabia"  # the feed that carries it
_ITEM = re.compile(r"<item>.*?</item>", re.S)
_FIELD = {name: re.compile(rf"<{name}>(?:<!\[CDATA\[)?(.*?)(?:\]\]>)?</{name}>", re.S)
          for name in ("title", "description", "link", "guid")}
_GUID = re.compile(r"<guid[^>]*>(.*?)</guid>", re.S)


def publish_articles(feeds: Path, base_url: str) -> int:
    """Write an article page for every item of the feeds in `feeds` (under feeds/articles/)
    and point each item's link at it; the number of pages written."""
    pages = feeds / "articles"
    pages.mkdir(exist_ok=True)
    sample = bundled("articles/putin-kursk-durov.txt").read_text(encoding="utf-8").splitlines()
    written = 0
    for name, file in OUTLETS.items():
        path = feeds / file
        text = path.read_text(encoding="utf-8")

        def rewrite(m: re.Match[str], name: str = name) -> str:
            nonlocal written
            item = m.group()
            fields = {key: _first(f, item) for key, f in _FIELD.items()}
            guid = _first(_GUID, item).strip()
            title = html.unescape(fields["title"]).strip()
            paragraphs = html.unescape(fields["description"]).splitlines()
            if guid == SAMPLE_GUID:
                title, paragraphs = sample[0], sample[1:]
            written += 1
            page = f"{name}-{written}.html"
            (pages / page).write_text(article_page(title, paragraphs, sample=guid == SAMPLE_GUID), encoding="utf-8")
            return _FIELD["link"].sub(f"<link>{base_url}/articles/{page}</link>", item, count=1)

        path.write_text(_ITEM.sub(rewrite, text), encoding="utf-8")
    return written


def _first(pattern: re.Pattern[str], text: str) -> str:
    m = pattern.search(text)
    return m.group(1) if m else ""


def article_page(title: str, paragraphs: list[str], *, sample: bool = False) -> str:
    """An outlet's article page around `title` and `paragraphs`."""
    e = html.escape
    body = "".join(f"<p>{e(p.strip())}</p>" for p in paragraphs if p.strip())
    read_also = "زيلينسكي يطلب أسلحة جديدة من الحلفاء" if sample else "أسعار النفط ترتفع في التعاملات الآسيوية"
    box = f'<aside class="more-on"><h2>اقرأ أيضا</h2><ul><li><a href="/">{e(read_also)}</a></li></ul></aside>'
    first, _, rest = body.partition("</p>")
    return ('<!DOCTYPE html><html lang="ar" dir="rtl"><head><meta charset="utf-8">'
            f"<title>{e(title)}</title></head><body>"
            '<nav><a href="/">الرئيسية</a> <a href="/">أخبار</a> <a href="/">اقتصاد</a> <a href="/">رياضة</a></nav>'
            '<div class="breaking-news-ticker"><span>عاجل</span> منتخب مصر يصل إلى موسكو للمشاركة في كأس العالم</div>'
            f"<main><article><h1>{e(title)}</h1><div class=\"article-body\">{first}</p>{box}{rest}</div></article>"
            '<section class="most-read"><h2>الأكثر قراءة</h2><ol><li><a href="/">الذهب يتراجع</a></li>'
            '<li><a href="/">قمة عربية في الرياض</a></li></ol></section></main>'
            "<footer><p>جميع الحقوق محفوظة</p></footer></body></html>")


def free_port() -> int:
    """A port nobody listens on now, on 127.0.0.1 (for the web view of `--serve`)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(folder: Path, base_url: str, watchlists: Path, *, web_port: int | None = None) -> Path:
    lines = [
        "# written by raqib demo",
        f"database: {folder / 'raqib.db'}",
        f"watchlists: {watchlists}",
        "poll:",
        "  interval: 3s",
        "  min_interval: 1s",
        "  backfill: 36500d   # the bundled items are from 2018: a real desk keeps the defaults",
        "  max_age: 36500d",
        # one local host serves every page: no pacing; and a wait longer than a demo lasts, so
        # the agency story's alert always shows what its page says, however busy the machine
        "fulltext:",
        "  per_host: 8",
        "  interval: 0s",
        "  wait: 60s",
        "feeds:",
    ]
    for name, file in OUTLETS.items():
        # every item has its page, but only the feed of the agency story reads them: a demo
        # of seconds on a small machine shows the body-only alert without a backlog of pages
        mode = "auto" if name == SAMPLE_FEED else "never"
        lines.append(f"  - {{name: {name}, url: \"{base_url}/{file}\", fulltext: {mode}}}")
    lines += ["channels:", "  console: {}"]
    if web_port is not None:
        lines += ["web:", f"  listen: 127.0.0.1:{web_port}"]
    path = folder / "raqib.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run_demo(*, seconds: float = 8.0, watchlists: str | None = None, keep: bool = False, serve: bool = False,
             port: int = 0) -> int:
    folder = Path(tempfile.mkdtemp(prefix="raqib-demo-"))
    try:
        feeds = folder / "feeds"
        shutil.copytree(bundled("feeds"), feeds)
        wl = Path(watchlists).resolve() if watchlists else default_watchlists()
        with FeedServer(feeds) as server:
            pages = publish_articles(feeds, server.base_url)
            web_port = (port or free_port()) if serve else None
            config_path = write_config(folder, server.base_url, wl, web_port=web_port)
            how_long = "until Ctrl-C" if serve else f"{seconds:g} s"
            print(f"raqib demo: serving {len(OUTLETS)} Arabic feeds and {pages} article pages at {server.base_url}, "
                  f"watchlists from {wl}, running {how_long}", flush=True)
            if serve:
                print(f"raqib demo: the web view is at http://127.0.0.1:{web_port}/ (Ctrl-C to stop)", flush=True)
            daemon = Daemon(load_config(config_path), console_stream=sys.stdout)
            asyncio.run(daemon.run(seconds=None if serve else seconds))
        summarise(folder / "raqib.db")
        if keep:
            print(f"demo files kept in {folder}")
        return 0
    finally:
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)


def summarise(database: Path) -> None:
    store = Store(database)
    try:
        c = store.stories.counts()
        print(f"\nraqib demo: {c['feeds_polled']} feeds polled, {c['stories']} stories in {c['clusters']} clusters "
              f"({c['multi_outlet']} told by more than one outlet), {store.alerts_raised()} alerts raised")
    finally:
        store.close()
