"""The daemon: one asyncio loop running the poller, the deliverer, the bot and housekeeping. It wires the parts; each
concern is a module of its own: `raqib.process` (descriptor limit, secrets to the log filter, threads), `raqib.jobs`
(the timers), `raqib.heartbeat` (this node's row), `raqib.personal` (each chat's own terms), `raqib.serving`
(/metrics, the web view), `alerts.health` (feed-health alerts).

Building a `Daemon` reads the config's settings (`monitor.settings`, the same reading `raqib check` does; errors
name file and line, exit 1) and nothing else: no file, no socket, no thread. `open()` (the first thing `run()` does)
takes the database's daemon lock (a second daemon on the same file exits 1 naming the other's pid), opens the store
and applies migrations → loads watchlists (a broken file is logged with file:line and left out; with none at all the
daemon still polls and stores stories) and every chat's own terms → syncs the feed list → builds the parts. `run()`
then puts rows left `sending` by a crash back in the queue → starts channels → READY to systemd. The dedup index and
the event index are loaded behind from the start of `run()`, in a thread of their own, from their snapshot or
rebuilt from the window's stories (`monitor.indexes`: stored clusters and events, never deciding again); no story is
decided before they hold the whole window (an ingest waits for them), so nothing polled meanwhile slips through as
new; a stop, or a start that fails, gives up a rebuild under way. They are written to their snapshot every
`dedup.snapshot_every`, at a clean stop, and as soon as a rebuild at start is done.

Running: the poller polls due feeds; the deliverer drains the outbox; the web view, when `web.listen` is set, is
served by uvicorn on this same loop (raqib/web); the jobs run housekeeping (watchlist refresh every 2 s, retention
and index pruning hourly, silent feed check, the systemd watchdog). SIGHUP reloads config and watchlists; SIGTERM
and SIGINT stop polling and the web view, give in-flight deliveries `STOP_GRACE` seconds, then one last round of at
most `FINAL_ROUND` seconds, checkpoint the WAL and close the database.

Watchlists: files are read and compiled in a worker thread and put in force on the loop, so a huge file never stalls
polling, delivery or /healthz; while running, a broken file keeps its last good version. A chat's /watch or /unwatch
recompiles that chat's terms alone, in place, before the bot answers.

The store: every store call of the poller, the pipeline's writes, the deliverer, housekeeping, /healthz and /metrics
runs on one store thread (`monitor.store.worker`), so the event loop never waits on the database; dedup and matching
stay on the loop. Bot commands and /status read the store from the loop under the store's lock.

Health (`/healthz`, the systemd watchdog): the database answers a write, the last attempt to store stories did not
fail (disk full, read-only), and polling makes progress. While any of these fails the watchdog is withheld and
/healthz says 503 with the reason; the poller pauses and retries, so nothing is lost once space returns.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfoNotFoundError

from apscheduler.schedulers.asyncio import AsyncIOScheduler  # type: ignore[import-untyped]  # no types in 3.x

from alerts.channel import Channel, build_channels
from alerts.health import FeedHealthAlerts
from alerts.outbox import Deliverer
from alerts.policy import Policy, policy_from_settings
from monitor.article import ArticleReader
from monitor.config import Config, load_config
from monitor.dedup import Clusterer
from monitor.dedup.events import EventGrouper
from monitor.errors import ConfigError, StoreError
from monitor.fetch import Fetcher
from monitor.indexes import IndexKeeper, snapshot_path
from monitor.parse_pool import ParsePool
from monitor.pipeline import PERSONAL_PREFIX, Pipeline
from monitor.poller import Poller
from monitor.reading import SWEEP_EVERY, ArticleQueue
from monitor.settings import RELOADABLE, Settings, changed_settings, read_settings
from monitor.store import AdvisoryLocks, LocalLocks, RoleLocks, Store
from monitor.store.worker import StoreThread
from monitor.watchlists import Watchlist, WatchlistRegistry

from . import sdnotify
from .heartbeat import Heartbeat, Load
from .jobs import Job, start_jobs
from .logs import register_secret
from .metrics import Metrics, status_gauges
from .personal import PersonalTerms
from .process import in_thread, raise_descriptor_limit, register_config_secrets, shared_database
from .roles import BOT, DIGESTS, HEALTH, PRUNE, ROLES, RoleKeeper, node_name
from .serving import start_metrics, start_web
from .web import WebServer

log = logging.getLogger(__name__)
STOP_GRACE = 10.0  # seconds in-flight polls and deliveries get after SIGTERM
FINAL_ROUND = 5.0  # then one last delivery round of queued alerts, at most this long


class Daemon:
    """The daemon. Building one reads the config's settings and nothing else: no file, no
    socket, no thread; `open()` (called by `run()`, or by a test that drives the parts
    itself) opens the store and builds the parts."""

    store: Store
    registry: WatchlistRegistry
    personal: PersonalTerms
    indexes: IndexKeeper
    clusterer: Clusterer
    events: EventGrouper
    channels: dict[str, Channel]
    roles: RoleKeeper
    pipeline: Pipeline
    fetcher: Fetcher
    parse_pool: ParsePool
    article_reader: ArticleReader
    feed_health: FeedHealthAlerts
    articles: ArticleQueue
    poller: Poller
    deliverer: Deliverer
    node_row: Heartbeat

    def __init__(self, config: Config, *, clock: Callable[[], float] = time.time,
                 console_stream: TextIO | None = None) -> None:
        self.config = config
        self.settings = read_settings(config)  # the one reading `raqib check` also runs
        self.clock = clock
        self.console_stream = console_stream
        self.stop_event = asyncio.Event()
        self.metrics = Metrics()
        self.node = node_name(self.settings.node.name)
        self.on_store = StoreThread()  # where the loop's store calls run (its thread starts with the first call)
        self.opened = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: threading.Thread | None = None
        self._channels_started = False
        self.fatal = ""  # why the daemon stopped by itself (`raqib run` exits 1, and systemd restarts it)
        self._watchlists_lock = asyncio.Lock()
        self._loading: asyncio.Future[None] | None = None
        self.indexes_ready = False
        self.dedup_settings = self.settings.dedup
        self.event_settings = self.settings.event  # dedup.event
        self.retention = self.settings.retention
        self.scheduler: AsyncIOScheduler | None = None
        self._background: set[asyncio.Task[Any]] = set()
        self.started = clock()
        self._unhealthy = False
        self.web: WebServer | None = None

    def open(self) -> Daemon:
        """Open the store (migrations applied), load watchlists and every chat's own terms,
        sync the feed list and build the parts; once (again: nothing). Returns the daemon."""
        if self.opened:
            return self
        config, settings, clock = self.config, self.settings, self.clock
        register_config_secrets(config)
        if settings.web.auth is not None:
            register_secret(settings.web.auth.secret)
        # one daemon per SQLite file, for its life; PostgreSQL is shared by nodes through leases
        self.store = Store(config.database, exclusive=True, node=self.node)
        self.opened = True
        self.started = clock()
        self.registry = WatchlistRegistry(config.watchlists)
        for e in self.registry.errors:
            log.error("watchlist refused at start, the others are in force error=%s", e)
        if not self.registry.watchlists:
            log.warning("no watchlist in force: stories are polled and stored, nothing alerts until one loads "
                        "path=%s", config.watchlists)
        self.personal = PersonalTerms(self.registry, self.store)
        self.personal.apply_all()
        self.store.feeds.sync(config.feeds)
        self.indexes = IndexKeeper(self.store, settings.dedup, settings.event, clock=clock,
                                   snapshot=snapshot_path(settings.snapshot.path, config.database,
                                                          Path(config.path).parent))
        # empty until `indexes_loaded` puts the window's in place (no ingest before that)
        self.clusterer = Clusterer(self.dedup_settings)
        self.events = EventGrouper(self.event_settings)
        self._rebuilt_to = self.store.stories.last_id()
        self.channels = build_channels(dict(config.channels), self.store)
        for ch in self.channels.values():
            if ch.name == "console" and self.console_stream is not None:
                ch.stream = self.console_stream  # type: ignore[attr-defined]
            ch.attach(self)
        # the roles that exist in this configuration: the bot's only with a channel taking updates
        roles = [r for r in ROLES if r != BOT or any(ch.takes_updates for ch in self.channels.values())]
        locks: RoleLocks = (AdvisoryLocks(str(config.database), application_name=f"raqib {self.node} roles",
                                          idle_timeout=3 * settings.node.role_retry)
                            if shared_database(config.database) else LocalLocks())
        self.roles = RoleKeeper(locks, roles=roles, retry=settings.node.role_retry, on_gain=self._role_gained,
                                on_loss=self._role_lost)
        editable = frozenset(name for name, ch in self.channels.items() if ch.can_edit)
        self.pipeline = Pipeline(self.store, self.registry, self.clusterer, channels=self.channels,
                                 poll=settings.poll, delivery=settings.delivery, editable=editable, clock=clock,
                                 on_ingest=self.metrics.ingest_done, events=self.events, seen_id=self._rebuilt_to,
                                 ready=self.indexes_loaded)
        poll = settings.poll
        self.fetcher = Fetcher(concurrency=poll.concurrency, per_host=poll.per_host,
                               read_timeout=poll.timeout, deadline=poll.deadline, max_bytes=poll.max_bytes)
        self.parse_pool = ParsePool(poll.parse_workers or None)  # feeds and article pages alike
        # the pages behind new items (monitor.reading): read beside polling, never in its way
        self.article_reader = ArticleReader(settings.fulltext, pool=self.parse_pool)
        # the admins hear when a feed turns unhealthy or recovers (alerts.health); a store call
        self.feed_health = FeedHealthAlerts(self.store, self.channels, clock=clock, on_queued=self._health_queued)
        self.articles = ArticleQueue(self.article_reader, self.pipeline, self.store, settings=settings.fulltext,
                                     run=self.on_store, clock=clock, on_alerts=self.wake_delivery,
                                     on_flag=self._pages_without_text)
        self.poller = Poller(
            self.store, self.fetcher, self.pipeline,
            settings=poll, health=settings.health, fulltext=settings.fulltext,
            clock=clock, on_health=self.feed_health,
            on_poll=self.metrics.poll_done, allow_private=config.allow_private_feeds,
            on_store=self.on_store, parser=self.parse_pool, on_articles=self.articles.submit)
        self.poller.on_new_alerts = self.wake_delivery
        self.deliverer = Deliverer(self.store, self.channels, settings=settings.delivery, policy_for=self.policy_for,
                                   clock=clock, on_result=self.metrics.delivery_done, on_store=self.on_store,
                                   send_held=lambda: self.roles.holds(DIGESTS))
        # this node's row in `nodes`, at every heartbeat (raqib.heartbeat)
        self.node_row = Heartbeat(self.store, self.node, started=self.started, clock=clock,
                                  settings=lambda: self.settings, watchlists=self.watchlists, load=self._load,
                                  on_fatal=self._fatal)
        return self

    # -- assembly -----------------------------------------------------------------------

    async def indexes_loaded(self) -> None:
        """Load the indexes once, behind (started at run, or by the first ingest); every
        ingest awaits this, so no story is decided against a partial window."""
        if self._loading is None:
            self._loading = asyncio.ensure_future(self._load_indexes())
        await asyncio.shield(self._loading)

    async def _load_indexes(self) -> None:
        while True:
            try:
                clusterer, events, seen = await in_thread(self.indexes.load, name="indexes")
                break
            except StoreError as exc:  # the database is away: nothing is decided until it is back
                if self.indexes.stopping:  # given up at shutdown: whatever waits for them is stopping too
                    raise asyncio.CancelledError() from exc
                log.error("dedup indexes not loaded, retrying error=%s", exc)
                await asyncio.sleep(5.0)
        self.clusterer = self.pipeline.clusterer = clusterer
        self.events = self.pipeline.events = events
        self.pipeline.seen_id = self._rebuilt_to = seen
        self.indexes_ready = True
        if self.indexes.source == "rebuild" and len(clusterer):
            # a rebuild is the slow start: snapshot it at once, so a crash soon after costs no second one
            saving = asyncio.ensure_future(self.save_indexes())
            self._background.add(saving)
            saving.add_done_callback(self._background.discard)

    async def save_indexes(self) -> bool:
        """Write the indexes' snapshot (under the ingest lock, in a thread)."""
        if not self.indexes_ready or self.indexes.snapshot is None:
            return False
        async with self.pipeline.lock:
            clusterer, events, seen = self.clusterer, self.events, self.pipeline.seen_id
            return await in_thread(lambda: self.indexes.save(clusterer, events, seen), name="snapshot")

    def policy_for(self, channel: str, destination: str) -> Policy:
        """Config defaults for the destination, overlaid with what its people set (/mute, /quiet)."""
        ch = self.channels.get(channel)
        settings: dict[str, object] = dict(ch.destination_defaults(destination)) if ch else {}
        settings.update(self.store.subscriptions.settings(channel, destination))
        try:
            return policy_from_settings(settings)
        except (ValueError, ZoneInfoNotFoundError) as exc:
            log.error("bad delivery settings channel=%s destination=%s error=%s", channel, destination, exc)
            return policy_from_settings(dict(ch.destination_defaults(destination)) if ch else {})

    # -- services offered to channels (alerts.channel.Services) ---------------------------

    def watchlists(self) -> list[Watchlist]:
        return [w for w in self.registry.watchlists if not w.name.startswith(PERSONAL_PREFIX)]

    async def reload(self) -> list[str]:
        """Re-read watchlists and the feed list of the config; the last good stays on error."""
        problems: list[str] = []
        try:
            fresh = load_config(self.config.path)
            settings = read_settings(fresh)  # refused like at start-up
            await self.on_store(self.store.feeds.sync, fresh.feeds)
            self.config = fresh
            self._apply_settings(settings)
        except ConfigError as exc:
            problems.append(str(exc))
            log.error("config reload failed, keeping the last good config error=%s", exc)
        changed, errors = await self._reload_watchlists()
        problems.extend(str(e) for e in errors)
        for e in errors:
            log.error("watchlist reload failed, keeping its last good version error=%s", e)
        if changed:
            log.info("watchlists reloaded count=%d", len(self.registry.watchlists))
        return problems

    def _apply_settings(self, settings: Settings) -> None:
        """What a reload can apply (`RELOADABLE`: web.auth) it applies; every other setting
        that changed is named in a WARNING, and takes effect at the next restart."""
        changed = changed_settings(self.settings, settings)
        if "web.auth" in changed:
            self.settings = replace(self.settings, web=replace(self.settings.web, auth=settings.web.auth))
            if self.web is not None:
                self.web.view.set_auth(settings.web.auth)
            log.info("web.auth reloaded: the next request is checked against it")
        later = [key for key in changed if key not in RELOADABLE]
        if later:
            log.warning("settings changed that apply at restart only keys=%s", ",".join(later))

    def status(self) -> dict[str, Any]:
        now = self.clock()
        feeds = self.store.feeds.all()
        enabled = [f for f in feeds if f.enabled]
        return {
            "node": self.node,
            "roles": sorted(self.roles.held),
            "all_roles": list(self.roles.roles),
            "nodes": self.nodes(now),
            "feeds_in_flight": len(self.poller.in_flight),
            "alerts_in_flight": self.deliverer.in_flight,
            "feeds": len(enabled),
            "feeds_ok": sum(1 for f in enabled if f.healthy and not f.failures),
            "feeds_failing": [f.name for f in enabled if not f.healthy or f.failures],
            "last_poll": max((f.last_poll or 0 for f in feeds), default=0) or None,
            **self.store.counts(now),
            "watchlists": len(self.watchlists()),
            "uptime": now - self.started,
        }

    def nodes(self, now: float) -> list[dict[str, Any]]:
        return self.node_row.nodes(now)

    def heartbeat(self) -> None:
        self.node_row.beat()

    def config_hash(self) -> str:
        return self.node_row.config_hash()

    def _load(self) -> Load:
        return Load(roles=self.roles.held, feeds_in_flight=len(self.poller.in_flight),
                    alerts_in_flight=self.deliverer.in_flight, polls=self.poller.polls)

    def _fatal(self, reason: str) -> None:
        self.fatal = reason
        self.stop()

    async def _heartbeat_job(self) -> None:
        await self.on_store(self.heartbeat)

    async def _role_gained(self, role: str) -> None:
        if role == BOT and self._channels_started:
            for ch in self.channels.values():
                await ch.take_updates(True)
        await self.on_store(self.heartbeat)

    async def _role_lost(self, role: str) -> None:
        if role == BOT:
            for ch in self.channels.values():
                await ch.take_updates(False)
        await self.on_store(self.heartbeat)

    async def check_silence(self) -> None:
        """The silent-feed check, on the node holding the feed-health role."""
        if self.roles.holds(HEALTH):
            await self.poller.check_silence()

    async def gauges(self) -> dict[str, float]:
        """The gauges of /metrics."""
        return {**status_gauges(await self.on_store(self.status), len(self.clusterer)),
                # the cost of global dedup across nodes: time waiting for the ingest lock,
                # and stories other nodes stored that this node's index caught up with
                "raqib_ingest_lock_wait_seconds": self.pipeline.lock_wait,
                "raqib_dedup_caught_up_stories": self.pipeline.caught_up,
                # article pages: being read now, and read, failed or past their wait since start
                "raqib_article_pages_open": self.articles.open,
                "raqib_article_pages_read": self.articles.read,
                "raqib_article_pages_failed": self.articles.failed,
                "raqib_article_waits_expired": self.articles.expired}

    def personal_terms_changed(self, channel: str | None = None, destination: str | None = None) -> None:
        """A chat's own terms changed (/watch, /unwatch): that chat's watchlist is compiled
        again, in place, and no other; without a chat, every chat's is."""
        self.personal.changed(channel, destination)

    def wake_delivery(self) -> None:
        """Wake the deliverer; from the store thread too (a feed-health alert queued there)."""
        if self._loop is not None and threading.current_thread() is not self._loop_thread:
            self._loop.call_soon_threadsafe(self.deliverer.wake)
        else:
            self.deliverer.wake()

    async def _pages_without_text(self, feed: str, reason: str) -> None:
        await self.on_store(self.feed_health.pages_without_text, feed, reason)

    def _health_queued(self, healthy: bool) -> None:
        self.metrics.inc("raqib_feed_health_changes_total", healthy=str(healthy).lower())
        self.wake_delivery()

    async def _articles_job(self) -> None:
        await self.articles.sweep()

    def _jobs(self) -> list[Job]:
        jobs: list[Job] = [("watchlists", self._refresh_watchlists, 2.0),
                           ("housekeeping", self._housekeeping_job, 3600.0), ("silence", self.check_silence, 600.0),
                           ("articles", self._articles_job, SWEEP_EVERY),
                           ("heartbeat", self._heartbeat_job, self.settings.node.heartbeat)]
        if self.store.postgres:  # nodes share the outbox: take over what a dead node was sending,
            # soon after its lease ran out (a quarter of the lease later at most, and at least every minute)
            jobs.append(("recover", self._recover_job, min(60.0, max(1.0, self.settings.delivery.lease / 4))))
        watchdog = sdnotify.watchdog_interval()
        if watchdog:
            jobs.append(("watchdog", self._watchdog, watchdog))
        if self.indexes.snapshot is not None:
            jobs.append(("snapshot", self.save_indexes, self.settings.snapshot.every))
        return jobs

    # -- running ------------------------------------------------------------------------

    async def run(self, *, seconds: float | None = None) -> None:
        raise_descriptor_limit()
        self.open()
        loop = asyncio.get_running_loop()
        self._loop, self._loop_thread = loop, threading.current_thread()
        loading = asyncio.create_task(self.indexes_loaded(), name="indexes")  # behind: the rest starts meanwhile
        try:
            await self.on_store(self.deliverer.recover)
            await self.roles.round()  # the roles free now are this node's before anything starts
            log.info("node started node=%s roles=%s", self.node, ",".join(sorted(self.roles.held)) or "none")
            await self.on_store(self.heartbeat)
            for sig, handler in ((signal.SIGTERM, self.stop), (signal.SIGINT, self.stop),
                                 (signal.SIGHUP, self._reload_soon)):
                # not the main thread (tests) or no signals on this platform
                with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                    loop.add_signal_handler(sig, handler)
            for ch in self.channels.values():
                if not self.roles.holds(BOT):
                    await ch.take_updates(False)  # another node takes the bot's updates
                await ch.start()
        except BaseException:
            self.indexes.stop()  # a start that fails gives its rebuild up
            raise
        self._channels_started = True
        self.scheduler = start_jobs(loop, self._jobs())
        metrics_server = await start_metrics(self.settings.metrics, self)
        try:
            self.web = await start_web(self.settings.web, self.config.database, self.watchlists, self.clock)
        except BaseException:
            await self.shutdown([], metrics_server)
            raise
        resumed = await self.articles.resume()  # pages an earlier run left unread
        if resumed:
            log.info("article pages resumed count=%d", resumed)
        # not the indexes' loader: a stop waits for it only through what waits for it (an ingest in flight)
        tasks = [asyncio.create_task(self.poller.run(self.stop_event), name="poller"),
                 asyncio.create_task(self.deliverer.run(self.stop_event), name="deliverer"),
                 asyncio.create_task(self.roles.run(self.stop_event), name="roles")]
        sdnotify.notify("READY=1", f"STATUS=watching {len(await self.on_store(self.store.feeds.all))} feeds")
        log.info("raqib running feeds=%d watchlists=%d channels=%s database=%s node=%s",
                 len(self.config.feeds), len(self.watchlists()), ",".join(self.channels), self.store.where,
                 self.node)
        try:
            try:
                await asyncio.wait_for(self.stop_event.wait(), timeout=seconds)
            except TimeoutError:
                self.stop()
            log.info("raqib stopping: polling stopped, finishing in-flight work seconds=%.0f", STOP_GRACE)
            done, pending = await asyncio.wait(tasks, timeout=STOP_GRACE)
            for task in done:
                if not task.cancelled() and task.exception() is not None:
                    log.error("task failed task=%s error=%r", task.get_name(), task.exception())
            if pending:
                log.warning("in-flight work cut short at shutdown tasks=%s",
                            ",".join(t.get_name() for t in pending))
        finally:
            sdnotify.notify("STOPPING=1")
            await self.shutdown([loading, *tasks], metrics_server)

    async def shutdown(self, tasks: list[asyncio.Task[Any]], metrics_server: asyncio.Server | None) -> None:
        self.stop_event.set()
        self.indexes.stop()  # a rebuild still under way is given up (its process stopped), not read from a closed store
        await self.articles.close()  # pages not read stay open in the store for the next start
        self.poller.parser.close()
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        for task in tasks:
            if not task.done():
                task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=1.0)
        # one last bounded round so alerts already queued go out before we stop; what
        # it cannot finish stays in the outbox for the next start
        try:
            await asyncio.wait_for(self.deliverer.run_once(), timeout=FINAL_ROUND)
        except (TimeoutError, StoreError) as exc:
            log.warning("final delivery round cut short error=%r", exc)
        for ch in self.channels.values():
            try:
                await ch.close()
            except Exception:
                log.exception("channel close failed channel=%s", ch.name)
        if self.web is not None:
            await self.web.stop()
            self.web = None
        await self.fetcher.aclose()
        await self.article_reader.aclose()
        try:
            await asyncio.wait_for(self.save_indexes(), timeout=60.0)
        except (TimeoutError, StoreError) as exc:
            log.warning("index snapshot not written at stop error=%r", exc)
        await self.roles.close()  # normally done by its task; again in case the task was cut short
        try:
            await self.on_store(self.store.nodes.gone, self.node)
        except StoreError as exc:
            log.warning("node row not removed node=%s error=%s", self.node, exc)
        if metrics_server is not None:
            metrics_server.close()
            await metrics_server.wait_closed()
        try:
            await self.on_store(self.store.feeds.release)  # polls cut short: other nodes need not wait out the lease
        except StoreError as exc:
            log.warning("feed leases not given back, they run out by themselves error=%s", exc)
        await self.on_store(self.store.close)  # after every call still queued there
        self.on_store.close()
        log.info("raqib stopped")

    def stop(self) -> None:
        """Stop the daemon (from the loop, a signal, or another thread such as the store's)."""
        if self._loop is not None and threading.current_thread() is not self._loop_thread:
            self._loop.call_soon_threadsafe(self.stop_event.set)
        else:
            self.stop_event.set()

    def _reload_soon(self) -> None:
        task = asyncio.get_running_loop().create_task(self.reload(), name="reload")
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _reload_watchlists(self) -> tuple[bool, list[ConfigError]]:
        """Read and compile changed watchlist files in a worker thread, then put the result
        in force here on the loop (one refresh at a time)."""
        async with self._watchlists_lock:
            found = await in_thread(self.registry.prepare, name="watchlists")
            return self.registry.apply(found)

    async def _refresh_watchlists(self) -> None:
        changed, errors = await self._reload_watchlists()
        for e in errors:
            log.error("watchlist has errors, its last good version stays in force error=%s", e)
        if changed:
            log.info("watchlists reloaded count=%d", len(self.registry.watchlists))

    async def _recover_job(self) -> None:
        if await self.on_store(self.deliverer.recover):
            self.wake_delivery()

    async def _housekeeping_job(self) -> None:
        async with self.pipeline.lock:  # the dedup index is pruned between ingests, never during one
            await self.on_store(self.housekeeping)

    def housekeeping(self) -> None:
        """Every node prunes its own dedup index; the node holding the prune role prunes
        the database (old stories, sent alerts, rows of nodes gone for a day)."""
        now = self.clock()
        try:
            pruned = {"stories": 0, "outbox": 0}
            if self.roles.holds(PRUNE):
                pruned = self.store.prune(stories_before=now - self.retention.stories,
                                          outbox_before=now - self.retention.outbox)
                self.store.nodes.forget(now - 86400.0)
            dropped = self.clusterer.prune(datetime.fromtimestamp(now, UTC))
            dropped += self.events.prune(datetime.fromtimestamp(now, UTC))
            log.info("housekeeping stories_pruned=%d alerts_pruned=%d index_pruned=%d",
                     pruned["stories"], pruned["outbox"], dropped)
        except StoreError as exc:
            log.error("housekeeping failed error=%s", exc)

    async def health(self) -> tuple[bool, list[str]]:
        """(healthy, problems): the database answers a write, stories could be stored at
        the last attempt, and polling makes progress."""
        problems: list[str] = []
        if not await self.on_store(self.store.ping):
            problems.append("database does not answer")
        if self.poller.store_error:
            problems.append(f"cannot store stories: {self.poller.store_error}")
        if not problems:
            # stalled: a feed is overdue and no poll has finished for a long while
            now, interval = self.clock(), sdnotify.watchdog_interval() or 30
            overdue = await self.on_store(self.store.feeds.next_due)
            idle = now - max(self.poller.last_progress, overdue or now)
            if overdue is not None and idle > max(600.0, 20 * interval):
                problems.append(f"polling stalled: no poll finished for {idle:.0f} s")
        return not problems, problems

    async def _watchdog(self) -> None:
        """Ping systemd only while the database answers and polling makes progress."""
        ok, problems = await self.health()
        if ok:
            sdnotify.notify("WATCHDOG=1")
            if self._unhealthy:
                self._unhealthy = False
                log.warning("healthy again, watchdog resumed")
                sdnotify.notify("STATUS=watching feeds")
        else:
            self._unhealthy = True
            log.error("watchdog withheld problems=%s", "; ".join(problems))
            sdnotify.notify("STATUS=unhealthy: " + "; ".join(problems))


def load_daemon(config_path: str | Path, **kwargs: Any) -> Daemon:
    return Daemon(load_config(config_path), **kwargs)
