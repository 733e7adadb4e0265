"""The second round of attacks (issue: no client, feed or node stalls the others), one
test per finding, each asserting the figure the fix promises. The through-the-daemon
and PostgreSQL cases are in tests/test_attacks_daemon.py."""
from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import pytest
import pytest_asyncio
from test_cli import fill, write_config
from web_site import desk_site

from monitor.errors import StoreError
from monitor.store import DatabaseLock, SearchWord, Store
from raqib.cli import main

pytestmark = pytest.mark.usefixtures("restore_logging")


# -- 13: a bad query parameter is one INFO line ------------------------------------------

@pytest_asyncio.fixture
async def site(tmp_path):
    async with desk_site(tmp_path) as s:
        yield s


@pytest.mark.asyncio
@pytest.mark.parametrize("path", ["/search?q=x&days=nan", "/?day=9999-99-99", "/search?q=x&days=inf"])
async def test_13_a_bad_parameter_is_400_and_one_info_line(site, caplog, path):
    caplog.set_level(logging.INFO)
    caplog.clear()
    r = await site.client.get(path)
    assert r.status_code == 400
    mine = [rec for rec in caplog.records if rec.name.startswith(("raqib", "uvicorn", "starlette"))]
    assert [rec.levelno for rec in mine] == [logging.INFO], [(r.levelname, r.getMessage()) for r in mine]
    assert not any(rec.exc_info for rec in caplog.records)


# -- 9: the SQLite lock is the file's, however it is named -------------------------------

def test_09_a_second_daemon_through_a_file_symlink_is_refused(tmp_path):
    db = tmp_path / "state" / "raqib.db"
    fill(db)
    link = tmp_path / "other.db"
    link.symlink_to(db)
    first = DatabaseLock(db)
    try:
        with pytest.raises(StoreError, match="in use by another raqib daemon"):
            DatabaseLock(link)
        with pytest.raises(StoreError, match="in use by another raqib daemon"):
            Store(link, exclusive=True)
    finally:
        first.release()


# -- 10: migrate-db --replace into a SQLite target that holds rows ------------------------

def test_10_migrate_db_replace_into_a_filled_sqlite_target(tmp_path, capsys):
    source, target = tmp_path / "a" / "raqib.db", tmp_path / "b" / "raqib.db"
    fill(source, stories=3)
    fill(target, stories=5)
    assert main(["migrate-db", "--from", str(source), "--to", str(target), "--replace"]) == 0, capsys.readouterr().err
    store = Store(target, readonly=True)
    try:
        assert store._scalar("SELECT COUNT(*) FROM stories") == 3
        found = store.search_candidates([[SearchWord("بوتين")]], limit=100) or []
        assert sorted(r["id"] for r in found) == [1, 2, 3]  # the index holds the copied stories only
    finally:
        store.close()


# -- 12: backup refuses the live database and files not its own ---------------------------

def test_12_backup_refuses_the_live_database_and_a_config(tmp_path, capsys):
    config = write_config(tmp_path)
    db = tmp_path / "state" / "raqib.db"
    fill(db)
    before = db.read_bytes()
    assert main(["backup", "--config", str(config), str(db)]) == 1
    assert "onto itself" in capsys.readouterr().err
    assert db.read_bytes() == before
    os.chmod(config, 0o644)
    text = config.read_text()
    assert main(["backup", "--config", str(config), str(config)]) == 1
    assert "not a SQLite database" in capsys.readouterr().err
    assert (config.stat().st_mode & 0o777) == 0o644 and config.read_text() == text
    copy = tmp_path / "copy.db"
    assert main(["backup", "--config", str(config), str(copy)]) == 0
    assert main(["backup", "--config", str(config), str(copy)]) == 0  # its own earlier copy is replaced
    capsys.readouterr()
