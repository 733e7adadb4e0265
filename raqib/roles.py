"""Node identity and roles: singleton work runs on exactly one node at a time.

Several identical daemons (nodes) may share one PostgreSQL database. Polling, ingest and
delivery run on every node (feeds and outbox rows are leased one node at a time); a few
jobs must run on one node only, and move to another when that node dies:

- `telegram-bot`  the bot's `getUpdates` polling (Telegram allows one consumer per bot;
                  every node still *sends* alerts through the Bot API);
- `digests`       held alerts (quiet hours, mutes, hourly/daily digests) leave as one
                  digest from one node, never half from each;
- `prune`         retention: old stories and sent alerts are deleted;
- `feed-health`   the silent-feed check and its admin alerts.

Rules:
- A node's name is `node.name` from the config, or `host:pid`.
- A role is held through a session-level advisory lock (`monitor.store.locks`); the
  server releases it when the node's lock connection ends, however it ends. A node that
  does not hold a role tries to take it every `node.role_retry` seconds, so a dead node's
  roles move within that time once the server has closed its session (at once when the
  process dies, since its socket closes; about 25 s of TCP keepalives when the network is
  cut). Roles are taken in `ROLES` order; one node may well hold them all.
- Before each round the node checks its lock connection; when it does not answer, every
  role is dropped at once (stopped locally), then taken again like any other node would.
- Taking or dropping a role calls the daemon's `on_gain(role)` / `on_loss(role)`; a hook
  that fails is logged and the role stays in the state the lock says.
- On SQLite every role is held from the start (one daemon per file).

Agreement: every node publishes `config_hash` (SHA-256 of its watchlists, without their
paths, and of the settings that decide what is alerted: poll, dedup, event, delivery,
health, retention; not node, web or metrics, which are each node's own) in its `nodes`
row. Nodes alive with different hashes would alert differently on the same stories:
each node that differs from the most common hash (every one, on a tie) is marked
`config_differs`, which the daemon logs as a WARNING, and `raqib status`, the bot's
/status and the metric `raqib_nodes_config_differs` show.
"""
from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import socket
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from monitor.errors import StoreError
from monitor.settings import NodeSettings
from monitor.store import NodeRow
from monitor.store.locks import LocalLocks, RoleLocks

if TYPE_CHECKING:
    from monitor.models import Watchlist
    from monitor.settings import Settings

log = logging.getLogger(__name__)

BOT, DIGESTS, PRUNE, HEALTH = "telegram-bot", "digests", "prune", "feed-health"
ROLES = (BOT, DIGESTS, PRUNE, HEALTH)
NAME_MAX = 64

Hook = Callable[[str], Awaitable[None] | None]


AGREED_SETTINGS = ("poll", "dedup", "event", "delivery", "health", "retention")


def config_hash(watchlists: Iterable[Watchlist], settings: Settings) -> str:
    """What a node alerts on, as one hash: its watchlists (paths left out) and the
    settings of `AGREED_SETTINGS` (see the module)."""
    lists = sorted((dataclasses.asdict(dataclasses.replace(w, path="", notify=dict(w.notify)))
                    for w in watchlists), key=lambda w: w["name"])
    agreed = {name: dataclasses.asdict(getattr(settings, name)) for name in AGREED_SETTINGS}
    text = json.dumps([lists, agreed], sort_keys=True, default=repr, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def node_states(rows: Iterable[NodeRow], now: float, heartbeat: float,
                me: str | None = None) -> list[dict[str, Any]]:
    """The `nodes` table as status shows it (JSON): roles as a list, `alive` while the node
    wrote its row within three heartbeats, `me` for the node asking, `config_differs` when
    its hash is not the most common among the nodes alive (see the module)."""
    out = [{**dataclasses.asdict(r), "roles": [x for x in (r.roles or "").split(",") if x],
            "alive": now - r.last_seen <= 3 * heartbeat, "me": r.name == me} for r in rows]
    counts = Counter(n.get("config_hash") or "" for n in out if n["alive"])
    counts.pop("", None)  # a node of an earlier release publishes none
    ranked = counts.most_common()
    common = ranked[0][0] if len(ranked) == 1 or (ranked and ranked[0][1] > ranked[1][1]) else None
    for n in out:
        n["config_differs"] = bool(n["alive"] and len(counts) > 1 and n.get("config_hash")
                                   and n["config_hash"] != common)
    return out


def describe_node(n: Mapping[str, Any], now: float) -> str:
    """One line of `raqib status` for a node."""
    ago = max(0.0, now - n["last_seen"])  # a heartbeat written just after `now`, or by a clock ahead of ours
    state = f"seen {ago:.0f}s ago" if n["alive"] else f"gone (last seen {ago:.0f}s ago)"
    roles = ",".join(n["roles"]) or "no role"
    differs = (f", WATCHLISTS OR SETTINGS DIFFER from the other nodes (config {n.get('config_hash')})"
               if n.get("config_differs") else "")
    return (f"{n['name']}: {state}, roles {roles}, polling {n['feeds_in_flight']} feeds, "
            f"sending {n['alerts_in_flight']}, {n['polls']} polls since start{differs}")


def node_name(configured: str | None = None) -> str:
    """This node's name: the configured one, or host:pid."""
    if configured:
        return configured[:NAME_MAX]
    return f"{socket.gethostname()}:{os.getpid()}"[:NAME_MAX]


class RoleKeeper:
    """Holds what roles it can, retries the rest, and drops all when the lock connection goes."""

    def __init__(self, locks: RoleLocks, *, roles: Iterable[str] = ROLES, retry: float = NodeSettings.role_retry,
                 on_gain: Hook | None = None, on_loss: Hook | None = None) -> None:
        self.locks = locks
        self.roles = tuple(roles)
        self.retry = retry
        self.on_gain = on_gain
        self.on_loss = on_loss
        # SQLite: the one daemon of the file holds every role from the start, before any round
        self.held: set[str] = set(self.roles) if isinstance(locks, LocalLocks) else set()
        self.changed = asyncio.Event()  # set whenever `held` changes (tests, status)

    def holds(self, role: str) -> bool:
        return role in self.held

    async def run(self, stop: asyncio.Event) -> None:
        """Keep roles until `stop` is set, then give every one up."""
        try:
            while not stop.is_set():
                await self.round()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.retry)
        finally:
            await self.close()

    async def round(self) -> None:
        """One round: drop everything if the lock connection is gone, then take what is free."""
        if self.held and not await self.locks.alive():
            log.error("role lock connection lost, every role dropped roles=%s", ",".join(sorted(self.held)))
            for role in sorted(self.held):
                await self._lose(role)
        for role in self.roles:
            if role in self.held:
                continue
            try:
                taken = await self.locks.take(role)
            except StoreError as exc:
                log.warning("cannot take roles now, retrying error=%s retry_in=%.1f", exc, self.retry)
                for held in sorted(self.held):
                    await self._lose(held)
                return
            if taken:
                self.held.add(role)
                self.changed.set()
                log.info("role taken role=%s", role)
                await self._call(self.on_gain, role)

    async def close(self) -> None:
        for role in sorted(self.held):
            await self._lose(role, stopping=True)
        try:
            await self.locks.close()
        except Exception:  # noqa: BLE001 - closing a broken connection; the server frees the locks anyway
            log.exception("closing the role-lock connection failed")

    async def _lose(self, role: str, *, stopping: bool = False) -> None:
        self.held.discard(role)
        self.changed.set()
        if stopping:  # a node stopping hands its roles on: nothing is wrong
            log.info("role released role=%s", role)
        else:
            log.warning("role given up role=%s", role)
        await self._call(self.on_loss, role)
        try:
            await self.locks.release(role)
        except StoreError as exc:
            log.warning("role release failed role=%s error=%s", role, exc)

    @staticmethod
    async def _call(hook: Hook | None, role: str) -> None:
        if hook is None:
            return
        try:
            result = hook(role)
            if result is not None:
                await result
        except Exception:
            log.exception("role hook failed role=%s", role)
