"""Watchlist files and chats' own terms as separate sources in the real daemon: a broken
file at start is reported and the others alert; a stored term that can never match is
skipped (and `raqib check` names it); one chat's /watch recompiles that chat alone; a
huge file is read and compiled while /healthz keeps answering."""
from __future__ import annotations

import asyncio
import io
import logging
import os
import statistics
import time
from pathlib import Path

import httpx
import pytest

from monitor.config import load_config
from monitor.match import Matcher
from monitor.store import Store
from raqib.cli import main
from raqib.daemon import Daemon
from tests.monitor.test_watchlists import vocabulary
from tests.support import sql
from tests.support.daemon_harness import GrowingFeeds, write_config, write_watchlist
from tests.support.feedserver import FeedServer
from tests.system.test_storage_faults import free_port, until

TITLE = "بوتين يلتقي وفداً أوكرانياً في جنيف لبحث تبادل الأسرى"


@pytest.fixture()
def server():
    s = FeedServer().start()
    yield s
    s.close()


def names(daemon: Daemon) -> list[str]:
    return [w.name for w in daemon.registry.watchlists]


async def test_a_watchlist_broken_at_start_is_reported_and_the_others_alert(tmp_path, server, caplog):
    feeds = GrowingFeeds(server, 1)
    write_watchlist(tmp_path / "wl", "russia", ["بوتين"])
    broken = tmp_path / "wl" / "geneva.yaml"
    broken.write_text("name: geneva\nterms: [جنيف\n", encoding="utf-8")
    config = write_config(tmp_path, {n: feeds.url(n) for n in feeds.names}, watchlists=tmp_path / "wl",
                          extra="poll: {interval: 1s, min_interval: 1s, adaptive: false, backfill: 36500d, max_age: 36500d}\n")
    assert main(["check", "--config", str(config)]) == 1  # `raqib check` still refuses it
    out = io.StringIO()
    with caplog.at_level(logging.ERROR, logger="raqib.daemon"):
        daemon = Daemon(load_config(config), console_stream=out).open()
    assert any(f"{broken}:3:" in r.getMessage() for r in caplog.records)
    assert names(daemon) == ["russia"]
    feeds.publish(title=TITLE)
    task = asyncio.create_task(daemon.run())
    try:
        await until(lambda: "news.example" in out.getvalue(), 20, "the alert of the watchlist that loaded")
    finally:
        daemon.stop()
        await asyncio.wait_for(task, 30)
    assert "russia" in out.getvalue() and "geneva" not in out.getvalue()


async def test_with_no_watchlist_in_force_the_daemon_still_polls_and_stores(tmp_path, server, caplog):
    feeds = GrowingFeeds(server, 1)
    (tmp_path / "wl").mkdir()
    (tmp_path / "wl" / "only.yaml").write_text("terms:\n  - {regex: 'بوتين('}\n", encoding="utf-8")
    config = write_config(tmp_path, {n: feeds.url(n) for n in feeds.names}, watchlists=tmp_path / "wl",
                          extra="poll: {interval: 1s, min_interval: 1s, adaptive: false, backfill: 36500d, max_age: 36500d}\n")
    with caplog.at_level(logging.WARNING, logger="raqib.daemon"):
        daemon = Daemon(load_config(config), console_stream=io.StringIO()).open()
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "only.yaml:2:" in messages and "no watchlist in force" in messages
    feeds.publish(title=TITLE)
    task = asyncio.create_task(daemon.run())
    try:
        await until(lambda: sql.story_count(daemon.store), 20, "the story to be stored")
        # the file is fixed while running: it takes effect without a restart
        (tmp_path / "wl" / "only.yaml").write_text("terms: [جنيف]\n", encoding="utf-8")
        await until(lambda: names(daemon) == ["only"], 20, "the fixed watchlist")
    finally:
        daemon.stop()
        await asyncio.wait_for(task, 30)


def _personal_config(tmp_path: Path) -> Path:
    write_watchlist(tmp_path / "wl", "russia", ["بوتين"])
    return write_config(tmp_path, {}, watchlists=tmp_path / "wl")


def test_stored_terms_that_can_never_match_are_skipped_and_named_by_check(tmp_path, caplog, capsys):
    config = _personal_config(tmp_path)
    store = Store(tmp_path / "state" / "raqib.db")
    for chat, term in (("41", "ـــ"), ("41", "كورسك"), ("42", "!!!"), ("42", "جنيف"), ("43", "😀")):
        store.subscriptions.add_personal_term("telegram", chat, term)  # as an older version stored them
    store.close()
    with caplog.at_level(logging.WARNING, logger="raqib.daemon"):
        daemon = Daemon(load_config(config)).open()  # it used to refuse to start
    try:
        skipped = [r.getMessage() for r in caplog.records if "personal term skipped" in r.getMessage()]
        assert len(skipped) == 3
        assert any("chat=41" in m and "term=ـــ" in m for m in skipped)
        fired = {m.watchlist for m in daemon.registry.matcher.match("بوتين في كورسك وجنيف")}
        assert fired == {"russia", "personal:telegram:41", "personal:telegram:42"}
    finally:
        daemon.store.close()
    assert main(["check", "--config", str(config)]) == 1
    out = capsys.readouterr().out
    database = tmp_path / "state" / "raqib.db"
    assert f"{database}: telegram chat 41: own term: term “ـــ” has no letters or digits" in out
    assert "chat 42" in out and "chat 43" in out and "كورسك" not in out


def test_no_database_yet_nothing_to_check(tmp_path, capsys):
    config = _personal_config(tmp_path)
    assert main(["check", "--config", str(config)]) == 0
    assert not (tmp_path / "state" / "raqib.db").exists()  # a check never creates it


def test_one_chats_watch_recompiles_that_chat_alone(tmp_path):
    words = vocabulary(6_001)
    store = Store(tmp_path / "state" / "raqib.db")
    with store.transaction():
        for i, word in enumerate(words[:6_000]):  # 120 chats of 50 terms each
            store.subscriptions.add_personal_term("telegram", str(1000 + i // 50), word)
    store.close()
    daemon = Daemon(load_config(_personal_config(tmp_path))).open()
    try:
        started = time.perf_counter()
        Matcher(daemon.registry.watchlists)  # what each command cost: every term compiled again
        everything = time.perf_counter() - started
        one_chat = []
        for n in range(5):
            daemon.store.subscriptions.add_personal_term("telegram", "1003", words[6_000] if n % 2 == 0 else "كورسك")
            started = time.perf_counter()
            daemon.personal_terms_changed("telegram", "1003")  # what /watch does before it answers
            one_chat.append(time.perf_counter() - started)
            assert {m.watchlist for m in daemon.registry.matcher.match(f"{words[6_000]} كورسك")} == {
                "personal:telegram:1003"}
            daemon.store.subscriptions.remove_personal_term("telegram", "1003", words[6_000] if n % 2 == 0 else "كورسك")
            daemon.personal_terms_changed("telegram", "1003")
            assert not daemon.registry.matcher.match(f"{words[6_000]} كورسك")
        # it used to compile all 6,000 terms again on the event loop for each command
        assert statistics.median(one_chat) * 20 < everything, (one_chat, everything)
        assert {m.watchlist for m in daemon.registry.matcher.match(words[0] + " " + words[-2])} == {
            "personal:telegram:1000", "personal:telegram:1119"}
        for word in words[:50]:
            daemon.store.subscriptions.remove_personal_term("telegram", "1000", word)
        daemon.personal_terms_changed()  # every chat read again: chat 1000 has none left
        assert {m.watchlist for m in daemon.registry.matcher.match(words[0] + " " + words[-2])} == {
            "personal:telegram:1119"}
    finally:
        daemon.store.close()


async def test_healthz_answers_while_a_huge_watchlist_file_is_compiled(tmp_path, server):
    port = free_port()
    feeds = GrowingFeeds(server, 1)
    write_watchlist(tmp_path / "wl", "russia", ["بوتين"])
    config = write_config(tmp_path, {n: feeds.url(n) for n in feeds.names}, watchlists=tmp_path / "wl",
                          extra=f"metrics: {{listen: '127.0.0.1:{port}'}}\n")
    words = vocabulary(20_000)
    daemon = Daemon(load_config(config), console_stream=io.StringIO()).open()
    task = asyncio.create_task(daemon.run())
    loop = asyncio.get_running_loop()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
            async def healthy():
                try:
                    return (await client.get("/healthz")).status_code == 200
                except httpx.ConnectError:  # not listening yet
                    return False
            await until(healthy, 15, "/healthz")
            staged = tmp_path / "big.yaml"
            staged.write_text("name: big\nterms:\n" + "".join(f"  - {w}\n" for w in words), encoding="utf-8")
            os.replace(staged, tmp_path / "wl" / "big.yaml")  # dropped in whole, as an editor saves
            # the longest wait between two answers, up to the first answer after it took effect
            gap, answers, last, deadline = 0.0, 0, loop.time(), loop.time() + 120
            while True:
                loaded = "big" in names(daemon)
                assert (await client.get("/healthz")).status_code == 200
                now = loop.time()
                gap, last, answers = max(gap, now - last), now, answers + 1
                if loaded:
                    break
                assert now < deadline, "the big file never took effect"
                await asyncio.sleep(0.05)
    finally:
        daemon.stop()
        await asyncio.wait_for(task, 30)
    # compiled on the event loop, the file stopped every answer for as long as it took (many seconds)
    assert gap < 2.0, gap
    assert answers >= 20
    assert {m.watchlist for m in daemon.registry.matcher.match(f"{words[0]} و{words[-1]}")} == {"big"}
