"""The real Daemon inside the test's own process, for tests that poll a feed at a time.

`make_daemon` writes a config (the given feeds, the e2e watchlists or the given folder,
the console channel into a StringIO, and any `extra` lines: more channels, indented), builds the Daemon and records it in `made`.
The test feeds are old news: `poll` options default to alerting them as if fresh
(`OLD_NEWS_ALERTS`; tests/system/test_first_day.py holds the rule itself), and more options join them;
`poll` polls one feed, waits for the article pages it handed on (read, or failed: items
whose links lead nowhere fail at once here) and delivers what it queued; `close_daemons` stops what was made.
"""
from __future__ import annotations

import asyncio
import io
from pathlib import Path

from monitor.config import load_config
from raqib.daemon import Daemon

OLD_NEWS_ALERTS = "backfill: 36500d, max_age: 36500d"  # a feed's backlog and 2018 items alert
WATCHLISTS = Path(__file__).parents[1] / "data" / "e2e" / "watchlists"  # russia-ukraine: بوتين, كورسك, دوروف ...


def make_daemon(made: list[Daemon], tmp_path: Path, feeds: dict[str, str],
                extra: str = "", watchlists: Path = WATCHLISTS,
                poll_options: str = OLD_NEWS_ALERTS) -> tuple[Daemon, io.StringIO, Path]:
    lines = [f"database: {tmp_path / 'raqib.db'}", f"watchlists: {watchlists}"]
    if poll_options:
        lines.append(f"poll: {{{poll_options}}}")
    lines.append("feeds:")
    lines += [f'  - {{name: {n}, url: "{u}"}}' for n, u in feeds.items()]
    lines += ["channels:", "  console: {}", extra]
    path = tmp_path / "raqib.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = io.StringIO()
    daemon = Daemon(load_config(path), console_stream=out).open()
    made.append(daemon)
    return daemon, out, path


async def poll(daemon: Daemon, name: str) -> str:
    feed = daemon.store.feeds.get(name)
    assert feed is not None
    outcome = await daemon.poller.poll_feed(feed)
    await pages_read(daemon)
    await daemon.deliverer.run_once()
    return outcome


async def pages_read(daemon: Daemon, timeout: float = 30.0) -> None:
    """Until no article page is open on this daemon (each read, or failed and settled)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while daemon.articles.open:
        if loop.time() > deadline:
            raise AssertionError(f"{daemon.articles.open} article pages still open after {timeout:g} s")
        await asyncio.sleep(0.02)


async def close_daemons(made: list[Daemon]) -> None:
    while made:
        daemon = made.pop()
        await daemon.articles.close()
        await daemon.article_reader.aclose()
        daemon.poller.parser.close()
        await daemon.fetcher.aclose()
        daemon.store.close()
