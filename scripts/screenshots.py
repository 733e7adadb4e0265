"""Screenshots of the web view for the README, from a demo store: `raqib demo`'s five real
Arabic feeds (10-16 April 2018) served on 127.0.0.1, polled by the real daemon a few
hours apart (a clock the script moves, so the charts and a story's timeline have shape),
plus one feed that answers 404; then the web view on that database, photographed by the
system's headless Chromium (Playwright driving /usr/bin/chromium; nothing downloaded).

    .venv/bin/python scripts/screenshots.py [--out docs] [--chromium /usr/bin/chromium]

Writes docs/web-alerts.png, web-alerts-phone.png, web-story.png, web-watchlist.png,
web-try.png, web-feeds.png, web-search.png and web-watchlists-en.png (in English), with
the web view's times in Asia/Riyadh (`web.tz`), and alert-telegram-phone.png: one alert
of that desk as the Telegram renderer writes it (its HTML and its buttons), drawn in a
phone-sized chat bubble.
"""
from __future__ import annotations

import argparse
import asyncio
import io
import shutil
import sys
import tempfile
import time
from pathlib import Path

from playwright.async_api import async_playwright

from alerts.render import alert_from_row, for_destination
from alerts.telegram.render import render_alert
from alerts.telegram.texts import LABELS
from monitor.config import load_config
from monitor.store import OutboxRow
from monitor.store.rows import row_of
from raqib.daemon import Daemon
from raqib.demo import OUTLETS, FeedServer, bundled, publish_articles, write_config
from raqib.web import Desk, WebServer, WebView

HOUR = 3600.0
TZ = "Asia/Riyadh"
BUBBLE = """<!doctype html><html lang="ar" dir="rtl"><head><meta charset="utf-8"><style>
body {{ margin: 0; background: #dfe7ee; font: 15px/1.45 system-ui, sans-serif; }}
header {{ background: #517da2; color: #fff; padding: 14px 16px; font-weight: 600; }}
.msg {{ background: #fff; margin: 14px 12px 4px; padding: 10px 12px; border-radius: 12px; white-space: pre-wrap;
        box-shadow: 0 1px 1px rgba(0,0,0,.12); }}
.msg a {{ color: #2a6db0; text-decoration: none; }}
.buttons {{ display: flex; gap: 4px; margin: 0 12px; }}
.buttons span {{ flex: 1; text-align: center; background: rgba(0,0,0,.25); color: #fff; padding: 9px 4px;
                 border-radius: 8px; }}
</style></head><body><header>رقيب · {chat}</header><div class="msg">{text}</div>
<div class="buttons">{buttons}</div></body></html>"""


def telegram_alert(daemon: Daemon) -> str:
    """The desk's alert on the agency story about Putin, Kursk and Durov (else its first
    alert), as Telegram would show it in a chat whose zone is Asia/Riyadh."""
    rows = daemon.store._query("SELECT * FROM outbox WHERE kind='story' ORDER BY "
                               "(payload LIKE '%دوروف%') DESC, id LIMIT 1")
    alert = for_destination(alert_from_row(row_of(OutboxRow, rows[0])), tz=TZ, titles=daemon.store.feeds.titles())
    labels = LABELS["ar"]
    buttons = "".join(f"<span>{labels[k]}</span>" for k in ("mute_event", "not_relevant"))
    return BUBBLE.format(chat="مكتب الأخبار", text=render_alert(alert), buttons=buttons)


async def build(folder: Path, base_url: str) -> Daemon:
    config = write_config(folder, base_url, bundled("watchlists"))
    text = config.read_text(encoding="utf-8").replace(
        "channels:", f'  - {{name: gone-feed, url: "{base_url}/gone.xml"}}\nchannels:')
    config.write_text(text, encoding="utf-8")
    now = time.time()
    clock = {"now": now - 40 * HOUR}
    daemon = Daemon(load_config(config), clock=lambda: clock["now"], console_stream=io.StringIO())
    for i, name in enumerate([*OUTLETS, "gone-feed"]):
        clock["now"] = now - (40 - 7 * i) * HOUR
        await daemon.poller.poll_feed(daemon.store.feeds.get(name))
        while daemon.articles.open:  # the agency story's page: its body-only names in their sentences
            await asyncio.sleep(0.05)
        await daemon.deliverer.run_once()
    return daemon


async def shoot(out: Path, chromium: str) -> None:
    folder = Path(tempfile.mkdtemp(prefix="raqib-shots-"))
    try:
        feeds = folder / "feeds"
        shutil.copytree(bundled("feeds"), feeds)
        with FeedServer(feeds) as server:
            publish_articles(feeds, server.base_url)
            daemon = await build(folder, server.base_url)
        view = WebView(Desk(database=daemon.config.database, watchlists=daemon.watchlists, tz=TZ))
        alert = telegram_alert(daemon)
        web = WebServer(view, "127.0.0.1:0")
        await web.start()
        base = f"http://127.0.0.1:{web.port}"
        story = daemon.store._scalar("SELECT cluster FROM stories GROUP BY cluster "
                                     "ORDER BY COUNT(DISTINCT feed) DESC, cluster LIMIT 1")
        watchlist = sorted(w.name for w in daemon.watchlists())[0]
        try:
            async with async_playwright() as p:
                browser = await p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
                page = await browser.new_page(viewport={"width": 1100, "height": 900}, locale="ar")
                shots = [("web-alerts", "/"), ("web-story", f"/story/{story}"),
                         ("web-watchlist", f"/watchlists/{watchlist}"), ("web-feeds", "/feeds"),
                         ("web-search", "/search?q=" + "بوتين")]
                for name, path in shots:
                    await page.goto(base + path)
                    await page.screenshot(path=str(out / f"{name}.png"))
                await page.goto(f"{base}/watchlists/{watchlist}")
                await page.click("form.try button")
                await page.wait_for_selector("#caught")
                await page.locator("#caught").scroll_into_view_if_needed()
                await page.screenshot(path=str(out / "web-try.png"))
                await page.goto(base + "/watchlists?lang=en")
                await page.screenshot(path=str(out / "web-watchlists-en.png"))
                phone = await browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=1)
                await phone.goto(base + "/")
                await phone.screenshot(path=str(out / "web-alerts-phone.png"))
                bubble = await browser.new_page(viewport={"width": 390, "height": 640}, device_scale_factor=1)
                await bubble.set_content(alert)  # a blank page: none of the web view's CSP
                await bubble.screenshot(path=str(out / "alert-telegram-phone.png"))
                await browser.close()
        finally:
            await web.stop()
            daemon.poller.parser.close()
            await daemon.fetcher.aclose()
            daemon.store.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="docs")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    asyncio.run(shoot(out, args.chromium))
    for png in sorted([*out.glob("web-*.png"), *out.glob("alert-*.png")]):
        print(f"{png} {png.stat().st_size // 1024} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
