"""The suite's own rules: tests read the database through named helpers, never raw SQL, and
the slow marker follows what a test reaches."""
from __future__ import annotations

import ast
import re
from pathlib import Path

TESTS = Path(__file__).resolve().parent
HELPERS = TESTS / "support"  # sql.py (the store's tables) and pg.py (the server's own) hold the SQL

# a statement, as SQL reads it, at the start of a string or of one of its lines (or after a
# quote, in a script a test runs): SELECT … FROM, UPDATE … SET, INSERT INTO, DELETE FROM,
# PRAGMA, and the schema's CREATE / DROP / ALTER
SQL = re.compile(r"""(^|["'])\s*(SELECT\b.*?\bFROM\b|SELECT\s+\w+\(|UPDATE\s+\S+\s+SET\b|INSERT\s+(OR\s+\w+\s+)?INTO\b"""
                 r"|DELETE\s+FROM\b|PRAGMA\s+\w+|(CREATE|DROP|ALTER)\s+(TABLE|SCHEMA|INDEX)\b)", re.M | re.S)


def sql_literals(path: Path) -> list[tuple[int, str]]:
    """(line, text) of each string literal in `path` that is an SQL statement."""
    found = []
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parts = {id(v) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for v in node.values}
    for node in ast.walk(tree):
        if id(node) in parts:  # read with its f-string
            continue
        if isinstance(node, ast.JoinedStr):
            text = "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
        else:
            continue
        if SQL.search(text):
            found.append((node.lineno, text.strip().splitlines()[0][:80]))
    return found


def test_the_rule_finds_what_it_should():
    assert SQL.search("SELECT COUNT(*) FROM stories") and SQL.search("UPDATE outbox SET state='sent'")
    assert SQL.search("PRAGMA integrity_check") and SQL.search("SELECT pg_backend_pid()")
    assert SQL.search('conn.execute("SELECT 1 FROM t")')
    assert not SQL.search("select the stories from the feed") and not SQL.search("an update set by the user")
    assert not SQL.search("/approve 12; DROP TABLE feeds")  # an attack a test sends is data


def test_no_test_file_holds_an_sql_statement():
    """SQL lives in tests/support (sql.py, pg.py), behind names that say what is read or
    set, so a column or table renamed is one edit there and the tests read as the story."""
    offenders = [f"{path.relative_to(TESTS.parent)}:{line}: {text}"
                 for path in sorted(TESTS.rglob("*.py")) if not path.is_relative_to(HELPERS)
                 and path != Path(__file__).resolve() and "data" not in path.relative_to(TESTS).parts
                 for line, text in sql_literals(path)]
    assert not offenders, "SQL in test files (move it to a named helper in tests/support/sql.py):\n" + "\n".join(offenders)


def test_the_slow_marker_follows_what_a_test_reaches():
    """conftest marks a test slow when its code reaches a daemon, a subprocess, PostgreSQL,
    the browser or time.sleep, through the suite's own functions."""
    from tests import conftest
    from tests.support import daemon_harness, inprocess, pg, sql, web_site

    reach = conftest._Reach()
    assert reach.why(inprocess.make_daemon) is not None  # builds the Daemon
    assert reach.why(web_site.desk_site) is not None  # through make_daemon
    assert reach.why(daemon_harness.wait_for) is not None  # time.sleep
    assert reach.why(pg.postgres_url) is not None  # psycopg
    assert reach.why(sql.outbox_rows) is None and reach.why(inprocess.pages_read) is None
