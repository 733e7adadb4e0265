"""Crash safety: the real daemon, killed with SIGKILL at random moments while alerts flow.

Setup (all on 127.0.0.1): ten feeds that grow while the test runs (500 new items, each
matching the watchlist, none folding into another), the real daemon as a subprocess
delivering to the fake Telegram Bot API through the real python-telegram-bot client (and,
in a second run, through the webhook channel to a receiver); both record every alert.
The daemon is killed with SIGKILL at least 20 times — sometimes while starting, mostly
while polling and delivering — and started again on the same database each time.

The promise checked (README, "Delivery guarantee"): every published item reaches the
receiver, none is lost, and the only repeats are sends whose outcome was unknown at a
kill: one destination is served one alert at a time, so at most one repeat per kill.
"""
from __future__ import annotations

import html
import random
import re
import signal
import sqlite3
import threading
import time
from collections import Counter

import pytest

from tests.support import sql
from tests.support.daemon_harness import (
    Daemon,
    GrowingFeeds,
    NotifySocket,
    Receiver,
    wait_for,
    write_config,
    write_watchlist,
)
from tests.support.fake_telegram import FakeTelegram
from tests.support.feedserver import FeedServer

ITEMS = 500
FEEDS = 10
KILLS = 22
TOKEN = "424242:AAcrashTestTokenForRaqib_abcdefghijk"
CHAT = 4242
HREF = re.compile(r'href="([^"]+)"')


class TelegramSink:
    """The fake Bot API as the receiving end: each alert's story link, in arrival order."""

    def __init__(self) -> None:
        self.fake = FakeTelegram(long_poll=0.2)
        self.fake.start()

    def urls(self) -> list[str]:
        out = []
        for text in self.fake.texts(CHAT):
            found = HREF.search(text)
            if found:
                out.append(html.unescape(found.group(1)))
        return out

    def close(self) -> None:
        self.fake.stop()


def channel_setup(kind: str, receiver: Receiver, sink: TelegramSink) -> tuple[dict, str, dict, object]:
    """notify entry, channels config, environment and the thing that records arrivals."""
    if kind == "telegram":
        return ({"telegram": [CHAT]},
                f"channels:\n  telegram: {{api_url: \"{sink.fake.api_url}\", polling: false, "
                "rate: {global: 1000, chat_interval: 0.001, group_per_minute: 100000}}\n",
                {"RAQIB_TELEGRAM_TOKEN": TOKEN}, sink)
    return {"webhook": [receiver.url]}, "channels:\n  webhook: {timeout: 5s, allow_private: true}\n", {}, receiver


@pytest.fixture()
def world(tmp_path):
    server = FeedServer().start()
    receiver = Receiver(delay=0.005)
    sink = TelegramSink()
    notify = NotifySocket()
    try:
        yield server, receiver, sink, notify
    finally:
        notify.close()
        sink.close()
        receiver.close()
        server.close()


@pytest.mark.parametrize("kind", ["telegram", "webhook"])
def test_sigkill_at_random_moments_loses_no_alert_and_repeats_at_most_one_per_kill(tmp_path, world, kind):
    server, webhook_receiver, sink, notify = world
    notify_entry, channels, channel_env, receiver = channel_setup(kind, webhook_receiver, sink)
    feeds = GrowingFeeds(server, FEEDS)
    write_watchlist(tmp_path / "watchlists", "crash", ["بوتين"], notify=notify_entry)
    config = write_config(tmp_path, {n: feeds.url(n) for n in feeds.names}, watchlists=tmp_path / "watchlists",
                          extra="poll: {interval: 1s, min_interval: 1s, adaptive: false, backfill: 36500d, max_age: 36500d}\n"
                                "delivery: {burst: 100000, backoff: 0.2s, backoff_max: 1s}\n" + channels)

    # publish 500 items over ~20 s while the daemon is being killed and restarted
    publishing = threading.Event()

    def publisher() -> None:
        for _ in range(ITEMS):
            feeds.publish()
            time.sleep(0.04)
        publishing.set()

    rng = random.Random(20)
    threading.Thread(target=publisher, daemon=True).start()
    kills = 0
    run = 0
    while kills < KILLS or not publishing.is_set():
        notify.clear()
        daemon = Daemon(config, tmp_path / "logs", env={"NOTIFY_SOCKET": notify.path, **channel_env},
                        tag=f"run{run}")
        run += 1
        if rng.random() < 0.25:
            time.sleep(rng.uniform(0.05, 0.5))  # somewhere in start-up
        else:
            wait_for(lambda: notify.count("READY=1") or daemon.proc.poll() is not None, 45, what="READY=1")
            assert daemon.proc.poll() is None, daemon.stderr()
            time.sleep(rng.uniform(0.1, 1.2))  # polling and delivering
        daemon.kill()
        assert daemon.proc.returncode == -signal.SIGKILL
        kills += 1

    # a last run, left alone until everything published has arrived, then stopped cleanly
    notify.clear()
    final = Daemon(config, tmp_path / "logs", env={"NOTIFY_SOCKET": notify.path, **channel_env}, tag="final")
    try:
        wait_for(lambda: notify.count("READY=1"), 45, what="READY=1")
        wait_for(lambda: set(feeds.published) <= set(receiver.urls()), 90, step=0.2,
                 what="every published item at the receiver")
    finally:
        assert final.stop() == 0, final.stderr()[-3000:]

    received = Counter(receiver.urls())
    assert len(feeds.published) == ITEMS
    missing = set(feeds.published) - set(received)
    assert not missing, f"{len(missing)} alerts lost"
    assert set(received) == set(feeds.published)  # nothing invented either
    repeats = sum(n - 1 for n in received.values())
    print(f"kills={kills} runs={run + 1} received={sum(received.values())} repeats={repeats}")
    assert repeats <= kills, f"{repeats} repeats after {kills} kills: {received.most_common(5)}"
    with sqlite3.connect(tmp_path / "state" / "raqib.db") as db:
        states, stories = sql.outbox_states(db), sql.story_count(db)
    assert states == {"sent": ITEMS}
    assert stories == ITEMS
