"""This node's row in `nodes` (what `raqib status` and /status show of it), written at
every heartbeat (`node.heartbeat`), and the nodes' agreement.

Rules:
- Every `SCHEMA_CHECK` seconds a heartbeat also looks at the schema: tables dropped
  under a running daemon (a restored or re-created database) are fatal (`on_fatal`
  with the reason; the daemon stops and `raqib run` exits 1, and a restart migrates).
- The row carries the node's host, pid, start, roles, work in flight, polls and its
  config hash (`raqib.roles.config_hash`: watchlists and alerting settings, computed
  again only when either changed).
- Nodes alive that disagree on the hash are named in a WARNING, again only when who
  disagrees changes: they would alert differently on the same stories.
- A failing write is logged; the next heartbeat tries again.
"""
from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from monitor.errors import StoreError
from monitor.settings import Settings
from monitor.store import Store
from monitor.watchlists import Watchlist

from .roles import config_hash, node_states

log = logging.getLogger(__name__)
SCHEMA_CHECK = 10.0  # seconds between two looks at the schema (at a heartbeat)


@dataclass(frozen=True)
class Load:
    """This node's work now, as its row reports it."""

    roles: Iterable[str]
    feeds_in_flight: int
    alerts_in_flight: int
    polls: int


class Heartbeat:
    def __init__(self, store: Store, node: str, *, started: float, clock: Callable[[], float],
                 settings: Callable[[], Settings], watchlists: Callable[[], list[Watchlist]],
                 load: Callable[[], Load], on_fatal: Callable[[str], None]) -> None:
        self.store = store
        self.node = node
        self.started = started
        self.clock = clock
        self.settings = settings  # the settings in force (a reload may change them)
        self.watchlists = watchlists
        self.load = load
        self.on_fatal = on_fatal
        self._schema_checked = -SCHEMA_CHECK
        self._config_hash: tuple[object, str] = ((), "")
        self._disagreement: list[str] = []

    def nodes(self, now: float) -> list[dict[str, Any]]:
        """Every node sharing the database as it last reported itself; `alive` while it
        reported within three heartbeats."""
        return node_states(self.store.nodes.all(), now, self.settings().node.heartbeat, me=self.node)

    def beat(self) -> None:
        """Write this node's row (a store call: the daemon makes it on its store thread)."""
        missing: list[str] = []
        if time.monotonic() >= self._schema_checked + SCHEMA_CHECK:
            self._schema_checked = time.monotonic()
            try:
                missing = self.store.schema_state().missing
            except StoreError as exc:
                missing = [str(exc)]
        if missing:
            log.critical("database schema missing, stopping database=%s missing=%s", self.store.where,
                         ",".join(missing[:5]))
            self.on_fatal(f"the database schema is missing or incomplete ({self.store.where}: "
                          f"{', '.join(missing[:3])}); stopping, a restart creates it")
            return
        try:
            load = self.load()
            self.store.nodes.seen(self.node, host=socket.gethostname(), pid=os.getpid(), started=self.started,
                                 now=self.clock(), roles=load.roles, feeds_in_flight=load.feeds_in_flight,
                                 alerts_in_flight=load.alerts_in_flight, polls=load.polls,
                                 config_hash=self.config_hash())
            self._check_agreement()
        except StoreError as exc:
            log.warning("node heartbeat failed node=%s error=%s", self.node, exc)

    def config_hash(self) -> str:
        watchlists, settings = self.watchlists(), self.settings()
        key = (tuple(id(w) for w in watchlists), id(settings))
        if self._config_hash[0] != key:
            self._config_hash = (key, config_hash(watchlists, settings))
        return self._config_hash[1]

    def _check_agreement(self) -> None:
        nodes = self.nodes(self.clock())
        differ = sorted(f"{n['name']}:{n['config_hash']}" for n in nodes if n["config_differs"])
        if differ and differ != self._disagreement:
            log.warning("nodes disagree on watchlists or settings differ=%s this_node=%s:%s",
                        ",".join(differ), self.node, self.config_hash())
        elif not differ and self._disagreement:
            log.info("nodes agree on watchlists and settings again")
        self._disagreement = differ
