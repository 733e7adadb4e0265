"""Singleton roles across nodes, on a real PostgreSQL: one holder at a time, failover when
the holder's session ends (a clean stop, a SIGKILL), schemas kept apart; SQLite holds all."""
from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import textwrap

import psycopg
import pytest

from monitor.store import AdvisoryLocks, LocalLocks
from raqib.feedhealth import ago
from raqib.roles import BOT, ROLES, RoleKeeper, describe_node
from tests.support import pg
from tests.support.pg import pg_url, server_url, with_schema  # noqa: F401  (pg_url: the fixture)


def keeper(url: str, log: list, name: str, retry: float = 0.05) -> RoleKeeper:
    return RoleKeeper(AdvisoryLocks(url, application_name=name), retry=retry,
                      on_gain=lambda role: log.append((name, "gain", role)),
                      on_loss=lambda role: log.append((name, "loss", role)))


async def test_one_node_holds_each_role_and_another_takes_it_when_the_holder_stops(pg_url):
    log: list = []
    a, b = keeper(pg_url, log, "a"), keeper(pg_url, log, "b")
    try:
        await a.round()
        await b.round()
        assert a.held == set(ROLES) and b.held == set()
        await b.round()  # retrying changes nothing while a holds them
        assert b.held == set()
        await a.close()
        await b.round()
        assert b.held == set(ROLES)
        assert [e for e in log if e[0] == "a"] == [("a", "gain", r) for r in ROLES] + \
            [("a", "loss", r) for r in sorted(ROLES)]
    finally:
        await a.close()
        await b.close()


async def test_a_killed_holder_frees_its_roles_at_once(pg_url):
    code = textwrap.dedent(f"""
        import psycopg, sys, time
        conn = psycopg.connect({pg_url!r}, autocommit=True)
        got = conn.execute({pg.ROLE_LOCK!r}, ({BOT!r},)).fetchone()[0]
        print(got, flush=True)
        time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    log: list = []
    b = keeper(pg_url, log, "b", retry=0.05)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "True"
        await b.round()
        assert BOT not in b.held and b.held == set(ROLES) - {BOT}
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(5)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5
        while BOT not in b.held:
            assert loop.time() < deadline, "the killed holder's role was never freed"
            await b.round()
            await asyncio.sleep(0.05)
        assert ("b", "gain", BOT) in log
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
        await b.close()


async def test_a_lost_lock_connection_drops_every_role_before_anyone_else_can_take_them(pg_url):
    log: list = []
    a = keeper(pg_url, log, "node-a")
    b = keeper(pg_url, log, "node-b")
    try:
        await a.round()
        assert a.held == set(ROLES)
        with psycopg.connect(pg_url, autocommit=True) as admin:  # the server ends a's session
            pg.terminate_application(admin, "node-a")
        await b.round()
        assert b.held == set(ROLES)
        await a.round()  # a notices, drops everything locally, and cannot take them back
        assert a.held == set()
        assert [e[2] for e in log if e[:2] == ("node-a", "loss")] == sorted(ROLES)
    finally:
        await a.close()
        await b.close()


async def test_installations_in_two_schemas_do_not_share_roles(pg_url):
    other = "t_other_" + os.urandom(4).hex()
    with psycopg.connect(server_url(), autocommit=True) as conn:
        pg.create_schema(conn, other)
    a, b = keeper(pg_url, [], "a"), keeper(with_schema(server_url(), other), [], "b")
    try:
        await a.round()
        await b.round()
        assert a.held == b.held == set(ROLES)
    finally:
        await a.close()
        await b.close()
        with psycopg.connect(server_url(), autocommit=True) as conn:
            pg.drop_schema_now(conn, other)


async def test_on_sqlite_the_one_daemon_holds_every_role():
    k = RoleKeeper(LocalLocks())
    await k.round()
    assert k.held == set(ROLES)


@pytest.mark.parametrize("url", ["postgresql://postgres@127.0.0.1:1/none"])
async def test_an_unreachable_server_leaves_the_node_without_roles_and_retrying(url):
    k = RoleKeeper(AdvisoryLocks(url), retry=0.05)
    await k.round()
    assert k.held == set()
    await k.close()


async def test_a_sqlite_daemon_is_one_node_with_every_role_in_status_metrics_and_raqib_status(tmp_path, capsys,
                                                                                          restore_logging):
    from raqib.cli import main
    from raqib.metrics import status_gauges
    from tests.support.inprocess import make_daemon

    daemon, _out, config = make_daemon([], tmp_path, {}, extra="node: {name: desk-1, heartbeat: 0.2s}")
    run = asyncio.create_task(daemon.run(seconds=30))
    try:
        for _ in range(100):
            if daemon.store.nodes.all():
                break
            await asyncio.sleep(0.05)
        status = daemon.status()
        here = sorted(r for r in ROLES if r != "telegram-bot")  # no Telegram here: no bot role to hold
        assert status["node"] == "desk-1" and status["roles"] == here
        [me] = status["nodes"]
        assert me["name"] == "desk-1" and me["alive"] and me["me"] and sorted(me["roles"]) == here
        gauges = status_gauges(status, 0)
        assert gauges['raqib_node_role{role="digests"}'] == 1 and gauges["raqib_nodes_alive"] == 1
        assert 'raqib_node_role{role="telegram-bot"}' not in gauges
        # in a thread, as from another process: the daemon's loop goes on writing its heartbeat
        assert await asyncio.to_thread(main, ["status", "--config", str(config)]) == 0
        shown = capsys.readouterr().out
        assert "nodes         1 running" in shown
        assert re.search(r"node desk-1: seen [0-2]s ago, roles digests,feed-health,prune", shown), shown
    finally:
        daemon.stop()
        await run
    reopened = type(daemon.store)(tmp_path / "raqib.db", readonly=True)
    assert reopened.nodes.all() == []  # a clean stop removes the node's row
    reopened.close()


async def test_the_bot_takes_commands_only_while_its_node_holds_the_bot_role(tmp_path, monkeypatch):
    """What the daemon does when the bot role comes and goes: getUpdates stops (another
    node answers commands meanwhile), alerts could still be sent, and it starts again."""
    from tests.support.fake_telegram import FakeTelegram
    from tests.support.inprocess import make_daemon

    monkeypatch.setenv("RAQIB_TELEGRAM_TOKEN", "123456789:AAE2eTestTokenForRaqib_abcdefghijkl")
    with FakeTelegram(long_poll=0.1) as tg:
        daemon, _out, _config = make_daemon(
            [], tmp_path, {}, extra=f'  telegram: {{api_url: "{tg.api_url}", poll_timeout: 1}}')
        run = asyncio.create_task(daemon.run(seconds=30))
        channel = daemon.channels["telegram"]
        try:
            tg.push_command(42, "/start")
            await _until(lambda: tg.texts(42))
            await channel.take_updates(False)  # the role moved to another node
            asked = len(tg.calls_of("getUpdates"))
            tg.push_command(43, "/start")
            await asyncio.sleep(0.6)
            assert len(tg.calls_of("getUpdates")) == asked and not tg.texts(43)
            await channel.take_updates(True)  # and came back
            await _until(lambda: tg.texts(43))
        finally:
            daemon.stop()
            await run


async def _until(predicate, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "condition never met"
        await asyncio.sleep(0.05)


def test_a_time_written_a_moment_ahead_of_the_reader_reads_as_now_not_negative():
    """A heartbeat written just after the reader took its time, or by a node whose clock is a
    second ahead: `raqib status` says 0 s ago, never "-0s" or "-1s"."""
    node = {"name": "desk-2", "alive": True, "last_seen": 1000.7, "roles": ["prune"], "feeds_in_flight": 0,
            "alerts_in_flight": 0, "polls": 3}
    assert describe_node(node, 1000.0).startswith("desk-2: seen 0s ago, roles prune")
    assert describe_node({**node, "alive": False}, 1000.0).startswith("desk-2: gone (last seen 0s ago)")
    assert ago(1001.4, 1000.0) == "0 s ago"
