"""Four real daemons on one PostgreSQL: the work is shared, nothing is lost, nothing twice.

Parts, all real and on 127.0.0.1: four `raqib run` subprocesses sharing one database (a
schema of this test's own), a feed server with 2,000 feeds and a steady stream of new
stories — a third of them agency copies, one text carried by three feeds at once under
three URLs — the fake Bot API and a webhook receiver. Midway the node holding the bot
role is SIGKILLed, then one more node.

What a user would notice, asserted:
- every feed is polled by one node per cycle: no feed is fetched twice within half an
  interval (two nodes polling it in one cycle would be);
- every story is alerted, and a story carried by three feeds is one alert: each story
  (copies counted once) reaches the receiver exactly once, except an alert a killed node
  was sending when it died, which may arrive once more (the crash bound);
- after the bot node dies another node takes `getUpdates` over within the role retry and
  `/subscribe` is answered;
- after the kills, stories published meanwhile are all delivered by the survivors, also
  those a killed node had stored and held for their pages (swept up once their wait ran out).
"""
from __future__ import annotations

import json
import random
import signal
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

import psycopg

from monitor.poller import MAX_IN_FLIGHT
from tests.support import sql
from tests.support.daemon_harness import LETTERS, TERM, Daemon, Receiver, random_title, rss, wait_for, write_watchlist
from tests.support.fake_telegram import FakeTelegram
from tests.support.feedserver import FeedServer
from tests.support.pg import pg_url  # noqa: F401  (the fixture)

FEEDS = 2000
NODES = 4
INTERVAL = 16.0  # seconds between two polls of one feed (four nodes on two cores poll ~150 feeds/s)
ROLE_RETRY = 0.5
LEASE = 8.0  # feed leases and outbox claims of a dead node are taken over after this
WAIT = 4.0  # a story waits this long for its page (news.example is never read): a dead node's are swept up after it
TOKEN = "123456:" + "A" * 35


class Stories:
    """Publishes a story every `every` seconds on random feeds; every third one is an agency
    copy published on three feeds at once. `events` maps each item URL to its story."""

    def __init__(self, server: FeedServer, names: list[str], every: float = 0.25, seed: int = 16) -> None:
        self.server, self.names, self.every = server, names, every
        self.rng = random.Random(seed)
        self.items: dict[str, list[dict]] = defaultdict(list)
        self.events: dict[str, int] = {}  # item url -> story number
        self.published = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.publish()

    def publish(self) -> None:
        k = self.published
        copies = 3 if k % 3 == 0 else 1
        title = random_title(self.rng, TERM)
        summary = " ".join("".join(self.rng.choice(LETTERS) for _ in range(6)) for _ in range(20))
        for feed in self.rng.sample(self.names, copies):
            url = f"http://news.example/{feed}/{k}"
            self.items[feed].append({"title": title, "url": url, "published": time.time(), "summary": summary})
            route = self.server.routes[f"/{feed}.xml"]
            route.body = rss(feed, self.items[feed][-20:])
            route.etag = f'"{len(self.items[feed])}"'
            self.events[url] = k
        self.published += 1


def nodes(url: str) -> list[dict]:
    """The `nodes` table (empty until the first node has migrated the schema)."""
    with psycopg.connect(url) as conn:
        try:
            rows = sql.node_rows(conn, "name", "roles", "last_seen")
        except psycopg.errors.UndefinedTable:
            return []
        return [{**r, "roles": r["roles"].split(",")} for r in rows]


def holder(url: str, role: str, alive: set[str]) -> str | None:
    for n in nodes(url):
        if role in n["roles"] and n["name"] in alive:
            return n["name"]
    return None


def missing(stories: Stories, receiver: Receiver, server: FeedServer, url: str, kills: list[float],
            phases: dict[str, float]) -> str:
    """What a user would ask of a story never alerted: was its feed polled after it was
    published, was it stored, was an alert queued and in what state."""
    t0 = phases["start"]
    got = {stories.events[u] for u in receiver.urls()}
    lines = [f"kills at {[round(k - t0, 1) for k in kills]}, now {time.monotonic() - t0:.1f}"]
    with psycopg.connect(url) as conn:
        for item_url, k in sorted(stories.events.items(), key=lambda kv: kv[1]):
            if k in got:
                continue
            feed = item_url.split("/")[3]
            polls = [round(r.at - t0, 1) for r in server.requests if r.path == f"/{feed}.xml"]
            rows = sql.story_rows(conn, "id", "cluster", "dedup_kind", "body_state", url=item_url)
            outbox = [sql.outbox_rows(conn, "channel", "state", "attempts", "leased_by", "last_error", cluster=r["cluster"])
                      for r in rows]
            lines.append(f"story {k} {item_url}: polls {polls[-6:]}, stored {rows}, outbox {outbox}")
    return "\n".join(lines)


def test_four_nodes_poll_once_alert_once_and_survive_kills(tmp_path: Path, pg_url: str) -> None:
    server = FeedServer().start()
    names = [f"f{i:04d}" for i in range(FEEDS)]
    for n in names:
        server.route(f"/{n}.xml", body=rss(n, []), etag='"0"')
    receiver = Receiver()
    tg = FakeTelegram(long_poll=0.2)
    tg.start()
    watchlists = tmp_path / "wl"
    write_watchlist(watchlists, "desk", [TERM], notify={"webhook": [receiver.url]})
    write_watchlist(watchlists, "sport", ["كرة"])
    lines = [f"database: {pg_url}", f"watchlists: {watchlists}",
             f"poll: {{interval: {INTERVAL}s, min_interval: {INTERVAL}s, adaptive: false, concurrency: 50, "
             f"per_host: 50, lease: {LEASE}s, parse_workers: 1, backfill: 1h}}",  # stories start before some first polls
             f"delivery: {{burst: 100000, lease: {LEASE}s}}",
             f"fulltext: {{wait: {WAIT}s}}",  # a story a killed node held for its page alerts after it
             f"node: {{name: \"${{RAQIB_NODE}}\", role_retry: {ROLE_RETRY}s, heartbeat: 0.5s}}",
             "channels:", "  webhook: {timeout: 10s, allow_private: true}",
             f"  telegram: {{api_url: \"{tg.api_url}\", poll_timeout: 1}}", "feeds:"]
    lines += [f'  - {{name: {n}, url: "{server.url(f"/{n}.xml")}"}}' for n in names]
    config = tmp_path / "raqib.yaml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    stories = Stories(server, names)
    daemons: dict[str, Daemon] = {}
    kills: list[float] = []
    phases: dict[str, float] = {"start": time.monotonic()}
    try:
        for i in range(NODES):
            name = f"node-{i}"
            daemons[name] = Daemon(config, tmp_path / "logs", tag=name,
                                   env={"RAQIB_NODE": name, "RAQIB_TELEGRAM_TOKEN": TOKEN,
                                        "RAQIB_LOG_LEVEL": "WARNING"})
        alive = set(daemons)
        wait_for(lambda: {n["name"] for n in nodes(pg_url)} >= alive, 30, 0.2, "all four nodes running")
        phases["nodes up"] = time.monotonic()
        stories.start()

        # once every feed has been polled (the first cycle, when all 2,000 are due at once, is
        # over) the node taking the bot's updates dies; another takes them over and answers /subscribe
        wait_for(lambda: len({r.path for r in server.requests}) >= FEEDS, 30, 0.2, "the first cycle")
        phases["first cycle"] = time.monotonic()
        bot = wait_for(lambda: holder(pg_url, "telegram-bot", alive), 5, 0.1, "a bot node")
        assert isinstance(bot, str)
        killed_at = time.monotonic()
        daemons[bot].kill()
        kills.append(killed_at)
        alive.discard(bot)
        successor = wait_for(lambda: holder(pg_url, "telegram-bot", alive), ROLE_RETRY + 5, 0.05,
                             "another node taking the bot role")
        took = time.monotonic() - killed_at
        tg.push_command(42, "/subscribe sport")
        wait_for(lambda: tg.texts(42), 8, 0.1, "the bot answering /subscribe after the failover")
        phases["failover"] = time.monotonic()

        # one more node dies, holding whatever it was polling and sending
        other = sorted(alive - {successor})[0]
        kills.append(time.monotonic())
        daemons[other].kill()
        alive.discard(other)
        time.sleep(2)
        stories.stop()

        expected = set(stories.events.values())
        try:
            wait_for(lambda: {stories.events[u] for u in receiver.urls()} >= expected,
                     INTERVAL + LEASE + 12, 0.2, "every story alerted")
        except AssertionError as e:
            raise AssertionError(f"{e}\n{missing(stories, receiver, server, pg_url, kills, phases)}") from None
        phases["all alerted"] = time.monotonic()
        for name in alive:
            assert daemons[name].proc.poll() is None, daemons[name].stderr()[-3000:]
    finally:
        stories.stop()
        for d in daemons.values():  # all at once: each takes its own grace time
            if d.proc.poll() is None:
                d.signal(signal.SIGTERM)
        for d in daemons.values():
            d.stop(20)
        tg.stop()
        receiver.close()
        server.close()

    # bot failover: within the role retry (plus the time for the successor to write its row)
    assert took <= ROLE_RETRY + 2, f"the bot role moved after {took:.2f} s"
    assert any("/subscribe" not in t and "sport" in t for t in tg.texts(42)), tg.texts(42)

    # every story exactly once, copies folded; a repeat only for what a killed node was sending
    per_story = Counter(stories.events[u] for u in receiver.urls())
    assert set(per_story) == set(stories.events.values())
    repeats = {k: c for k, c in per_story.items() if c > 1}
    assert all(c == 2 for c in repeats.values()), repeats
    assert len(repeats) <= 2 * 20, f"more repeats than two crashes can leave: {len(repeats)}"
    assert stories.published >= 20

    # one node per feed per cycle: no feed fetched twice within half an interval
    times: dict[str, list[float]] = defaultdict(list)
    for r in server.requests:
        times[r.path].append(r.at)
    # a feed a killed node was polling is polled again once its lease ends: that repeat is
    # the crash bound; any other second poll within half an interval is a double poll
    crash_repeats, polled_twice = 0, {}
    for p, ts in times.items():
        for a, b in zip(ts, ts[1:], strict=False):
            if b - a >= INTERVAL / 2:
                continue
            if any(a <= k <= a + LEASE and b >= k for k in kills):
                crash_repeats += 1
            else:
                polled_twice[p] = round(b - a, 2)
    assert crash_repeats <= 2 * MAX_IN_FLIGHT, crash_repeats  # at most what two nodes had claimed
    assert not polled_twice, f"{len(polled_twice)} feeds polled twice in one cycle, e.g. {list(polled_twice)[:5]}"
    assert len(times) == FEEDS, f"only {len(times)} of {FEEDS} feeds polled"
    print(json.dumps({"phases": {k: round(v - phases["start"], 1) for k, v in phases.items()},
                      "crash_repeated_polls": crash_repeats, "stories": stories.published, "alerts": len(receiver.urls()), "repeats": len(repeats),
                      "bot_failover_seconds": round(took, 2), "requests": len(server.requests)}))
