"""The command line around the database: where options go, reading without writing, damage.

- The global options (`--config/-c`, `--log-format`, `--log-level`) are accepted before
  the command, after it and after a sub-command, for every command; the documented
  command lines keep working.
- status, feeds, feeds export, outbox, backup, search and try open the database
  read-only: they work on a read-only mount. As root (where chmod does not stop writes) the mount is a real
  read-only bind mount made inside `unshare -rm`; without unshare the case is skipped.
- A damaged database file (a bad header, or one garbled page of the stories table) is
  named with how to recover, exit 1, no traceback, for `run` and for `status`.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from monitor.store import Store
from raqib.cli import main
from tests.support import sql

ROOT = Path(__file__).resolve().parents[2]

OPML = """<?xml version="1.0"?><opml version="2.0"><head><title>t</title></head><body>
<outline text="public" xmlUrl="http://93.184.216.34/rss.xml"/>
</body></opml>
"""


pytestmark = pytest.mark.usefixtures("restore_logging")


def write_config(tmp_path: Path) -> Path:
    (tmp_path / "wl").mkdir(exist_ok=True)
    (tmp_path / "wl" / "w.yaml").write_text("name: w\nterms: [بوتين]\n", encoding="utf-8")
    config = tmp_path / "raqib.yaml"
    config.write_text(f"database: {tmp_path / 'state' / 'raqib.db'}\nwatchlists: {tmp_path / 'wl'}\n"
                      "feeds:\n  - {name: bbc, url: 'https://feeds.bbci.co.uk/arabic/rss.xml'}\n",
                      encoding="utf-8")
    return config


def fill(db: Path, stories: int = 3) -> None:
    """A database as a daemon leaves it: a feed, stories, a sent and a dead alert."""
    store = Store(db)
    try:
        store.feeds.sync([type("F", (), {"name": "bbc", "url": "https://feeds.bbci.co.uk/arabic/rss.xml",
                                          "interval": None, "enabled": True})()])
        now = time.time()
        with store.transaction() as conn:
            for i in range(1, stories + 1):
                story = store.stories.insert(conn, {"feed": "bbc", "guid": f"g{i}", "url": f"https://x.example/{i}",
                                                  "title": f"بوتين {i}", "summary": "ملخص " * 200,
                                                  "fetched": now, "cluster": i})
                store.outbox.enqueue(conn, channel="webhook", destination="https://hooks.example/x", kind="story",
                              watchlist="w", cluster=i, story_id=story, payload={"title": f"بوتين {i}"}, now=now)
        store.outbox.mark_sent([1], now)
        store.outbox.mark_dead([2], "HTTP 404")
    finally:
        store.close()


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "raqib.cli", *args], capture_output=True, text=True,
                          cwd=str(ROOT), timeout=60)


@pytest.mark.parametrize("line", [
    ["feeds", "import", "--config", "{config}", "{opml}"],
    ["--config", "{config}", "feeds", "import", "{opml}"],
    ["feeds", "--config", "{config}", "import", "{opml}"],  # the documented place
    ["feeds", "import", "{opml}", "-c", "{config}", "--log-format", "json"],
    ["--log-format", "json", "feeds", "import", "--log-level", "WARNING", "--config", "{config}", "{opml}"],
])
def test_global_options_anywhere_on_the_line(tmp_path, capsys, line):
    config = write_config(tmp_path)
    opml = tmp_path / "f.opml"
    opml.write_text(OPML, encoding="utf-8")
    assert main([a.format(config=config, opml=opml) for a in line]) == 0
    assert "imported 1 feeds" in capsys.readouterr().out


@pytest.mark.parametrize("line", [
    ["status", "--config", "{config}"], ["--config", "{config}", "status"], ["status", "-c", "{config}"],
    ["outbox", "--config", "{config}"], ["outbox", "retry", "--config", "{config}"],
    ["feeds", "export", "--config", "{config}"], ["feeds", "--log-format", "json", "-c", "{config}"],
    ["backup", "{target}", "--config", "{config}"],
])
def test_every_command_takes_the_config_after_its_sub_command(tmp_path, capsys, line):
    config = write_config(tmp_path)
    fill(tmp_path / "state" / "raqib.db")
    assert main([a.format(config=config, target=tmp_path / "copy.db") for a in line]) == 0
    assert capsys.readouterr().out.strip()


# -- read-only ---------------------------------------------------------------------------

def read_only_runner(state: Path):
    """Runs the CLI with `state` read-only, or skips when this machine cannot make it so."""
    if os.geteuid() != 0:
        def run(*args: str) -> subprocess.CompletedProcess:
            modes = {p: stat.S_IMODE(p.stat().st_mode) for p in [state, *state.iterdir()]}
            for p in modes:
                p.chmod(0o500 if p.is_dir() else 0o400)
            try:
                return cli(*args)
            finally:
                for p, mode in modes.items():
                    p.chmod(mode)
        return run
    unshare = shutil.which("unshare")
    if not unshare or subprocess.run([unshare, "-rm", "mount", "--bind", "-o", "ro", str(state), str(state)],
                                     capture_output=True).returncode != 0:
        pytest.skip("running as root without unshare/mount: a read-only database cannot be arranged")

    def run(*args: str) -> subprocess.CompletedProcess:
        script = 'mount --bind -o ro "$0" "$0" && exec "$@"'
        return subprocess.run([unshare, "-rm", "sh", "-c", script, str(state), sys.executable, "-m", "raqib.cli",
                               *args], capture_output=True, text=True, cwd=str(ROOT), timeout=60)
    return run


def test_read_commands_work_on_a_read_only_database(tmp_path):
    config = write_config(tmp_path)
    db = tmp_path / "state" / "raqib.db"
    fill(db)
    before = db.read_bytes()
    run = read_only_runner(db.parent)
    status = run("status", "--config", str(config))
    assert status.returncode == 0, status.stderr
    assert "dead letters  1" in status.stdout and "1 waiting" in status.stdout, status.stdout
    assert "dead #2 webhook:https://hooks.example/x after 0 attempts: HTTP 404" in status.stdout
    feeds = run("feeds", "--config", str(config))
    assert feeds.returncode == 0 and " bbc " in feeds.stdout, feeds.stderr
    export = run("feeds", "export", "--config", str(config))
    assert export.returncode == 0 and "feeds.bbci.co.uk" in export.stdout, export.stderr
    outbox = run("outbox", "--config", str(config))
    assert outbox.returncode == 0 and "2 alerts not yet sent" in outbox.stdout, outbox.stderr
    backup = run("backup", "--config", str(config), str(tmp_path / "copy.db"))
    assert backup.returncode == 0, backup.stderr
    copied = (tmp_path / "copy.db").read_bytes()
    again = run("backup", "--config", str(config), str(tmp_path / "copy.db"))
    assert again.returncode == 1 and again.stderr == (
        f"raqib: {tmp_path / 'copy.db'} exists; nothing was written (pass --force to overwrite it, or name "
        "another file)\n")
    assert (tmp_path / "copy.db").read_bytes() == copied
    assert run("backup", "--config", str(config), str(tmp_path / "copy.db"), "--force").returncode == 0
    search = run("search", "بوتين", "--config", str(config))
    assert search.returncode == 0 and search.stdout.rstrip().endswith("3 stories"), search.stderr
    tried = run("try", str(tmp_path / "wl" / "w.yaml"), "--config", str(config))
    assert tried.returncode == 0 and "w: 3 alerts among the 3 stories of the last 3 days" in tried.stdout, tried.stderr
    with sqlite3.connect(tmp_path / "copy.db") as conn:
        assert sql.story_count(conn) == 3
    assert db.read_bytes() == before


def test_a_write_command_on_a_read_only_database_says_so(tmp_path):
    config = write_config(tmp_path)
    fill(tmp_path / "state" / "raqib.db")
    done = read_only_runner(tmp_path / "state")("outbox", "retry", "--config", str(config))
    assert done.returncode == 1
    assert "read-only" in done.stderr or "readonly" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_read_commands_before_the_first_run_create_nothing(tmp_path):
    config = write_config(tmp_path)
    status = cli("status", "--config", str(config))
    assert status.returncode == 0 and "0 waiting" in status.stdout, status.stderr
    assert not (tmp_path / "state" / "raqib.db").exists()
    backup = cli("backup", "--config", str(config), str(tmp_path / "copy.db"))
    assert backup.returncode == 1 and "no database at" in backup.stderr


# -- a damaged file ------------------------------------------------------------------------

def garble_header(db: Path) -> None:
    with open(db, "r+b") as f:
        f.write(b"\x00" * 16 + os.urandom(84))


def garble_stories_page(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        page_size = sql.page_size(conn)
        root = sql.root_page(conn, "stories")
    with open(db, "r+b") as f:
        f.seek((root - 1) * page_size)
        f.write(b"\xff" * page_size)


@pytest.mark.parametrize("garble", [garble_header, garble_stories_page])
def test_a_damaged_database_is_named_with_how_to_recover(tmp_path, garble):
    config = write_config(tmp_path)
    db = tmp_path / "state" / "raqib.db"
    fill(db, stories=200)
    garble(db)
    commands = [("run", "--seconds", "5")]
    if garble is garble_header:
        commands.append(("status",))  # status reads no story row, so a garbled stories page goes unseen
    for args in commands:
        done = cli(*args, "--config", str(config))
        assert done.returncode == 1, (args, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr, done.stderr
        assert f"database {db} is damaged" in done.stderr, done.stderr
        assert "raqib backup" in done.stderr and f"sqlite3 {db} .recover" in done.stderr, done.stderr
