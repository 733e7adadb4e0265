"""Role locks: which node of several sharing one PostgreSQL database does a singleton job.

Rules:
- A role (the Telegram bot's `getUpdates`, digests, pruning, feed-health checks) is held
  through a PostgreSQL *session-level* advisory lock (`pg_try_advisory_lock`) on a
  connection of its own, one per node, used for nothing else. The server releases every
  lock of a session when the session ends: a node that stops, crashes or is killed (its
  socket closed by the kernel) gives its roles up at once, with no heartbeat to time out.
- A node whose network is cut without the socket closing is noticed by TCP keepalives,
  the server's own set per session (`SERVER_KEEPALIVES`: about 25 s), after which the
  server releases its locks; the node itself checks its lock connection at every retry
  and, when it does not answer, drops every role at once, before anyone else can take
  them.
- A node that is frozen (SIGSTOP, a paused VM) still answers keepalives from its
  kernel: the session's `idle_session_timeout` (`idle_timeout`, three role retries and
  at least 15 s) ends it, since a live node runs a statement on it every retry. So a
  frozen, cut-off or dead node's roles are free within `idle_timeout` (25 s at most for
  the defaults), and taken by another node within its next retry.
- Lock keys are the 64-bit `hashtextextended` of `<schema>:raqib:<role>`: advisory locks
  are per database, so two installations in two schemas of one database never share one.
- On SQLite (`LocalLocks`) there is one daemon per database file (its flock), so that
  daemon holds every role; no lock is taken.

All SQL of the roles is here; `raqib.roles.RoleKeeper` decides when to take and drop them.
"""
from __future__ import annotations

import contextlib
import logging
from typing import Protocol

import psycopg

from ..errors import StoreError
from .postgres import SERVER_KEEPALIVES

log = logging.getLogger(__name__)

# Seconds: idle before the first probe, between probes, probes lost before the server (and
# this node) drop the connection. A cut network frees the node's roles in about 25 s.
KEEPALIVE = "keepalives=1 keepalives_idle=10 keepalives_interval=5 keepalives_count=3 tcp_user_timeout=15000"
CONNECT_TIMEOUT = 5


class RoleLocks(Protocol):
    """Session locks, one per role, on one dedicated connection."""

    async def take(self, role: str) -> bool: ...  # True when this node now holds `role`

    async def alive(self) -> bool: ...  # the lock connection answers (False: every role is lost)

    async def release(self, role: str) -> None: ...

    async def close(self) -> None: ...  # every role released


class LocalLocks:
    """SQLite: the one daemon of the file holds every role."""

    async def take(self, role: str) -> bool:
        return True

    async def alive(self) -> bool:
        return True

    async def release(self, role: str) -> None:
        return None

    async def close(self) -> None:
        return None


class AdvisoryLocks:
    """PostgreSQL session-level advisory locks on one connection of their own (async psycopg)."""

    def __init__(self, conninfo: str, *, application_name: str = "raqib", idle_timeout: float = 15.0) -> None:
        self.conninfo = conninfo
        self.idle_timeout = max(15.0, idle_timeout)
        self.application_name = application_name[:63]
        self._conn: psycopg.AsyncConnection | None = None  # opened on first use and after a loss

    async def _connection(self) -> psycopg.AsyncConnection:
        if self._conn is not None and not self._conn.closed:
            return self._conn
        try:
            conninfo = psycopg.conninfo.make_conninfo(self.conninfo, connect_timeout=CONNECT_TIMEOUT,
                                                      application_name=self.application_name)
            conn = await psycopg.AsyncConnection.connect(f"{conninfo} {KEEPALIVE}", autocommit=True)
            await conn.execute(f"SET idle_session_timeout = {int(self.idle_timeout * 1000)}")
            for name, value in SERVER_KEEPALIVES.items():
                await conn.execute(f"SET {name} = {value}")
            self._conn = conn
        except psycopg.Error as exc:
            raise StoreError(f"cannot open the role-lock connection: {exc}",
                             hint="check that PostgreSQL answers at the configured database URL") from exc
        return self._conn

    async def take(self, role: str) -> bool:
        conn = await self._connection()
        try:
            cur = await conn.execute(
                "SELECT pg_try_advisory_lock(hashtextextended(current_schema() || ':raqib:' || %s, 0))", (role,))
            row = await cur.fetchone()
        except psycopg.Error as exc:
            await self._drop()
            raise StoreError(f"role lock failed role={role}: {exc}") from exc
        return bool(row and row[0])

    async def alive(self) -> bool:
        if self._conn is None or self._conn.closed:
            return False
        try:
            await self._conn.execute("SELECT 1")
            return True
        except psycopg.Error:
            await self._drop()
            return False

    async def release(self, role: str) -> None:
        if self._conn is None or self._conn.closed:
            return
        try:
            await self._conn.execute(
                "SELECT pg_advisory_unlock(hashtextextended(current_schema() || ':raqib:' || %s, 0))", (role,))
        except psycopg.Error as exc:
            log.warning("role release failed, closing the lock connection role=%s error=%s", role, exc)
            await self._drop()

    async def close(self) -> None:
        await self._drop()  # closing the session releases every lock it holds

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):  # a broken connection may fail to close; it is gone either way
                await conn.close()
