"""Suite-wide settings."""
from __future__ import annotations

import logging

import pytest

# aiosmtpd logs every connection at INFO from its own thread, sometimes after pytest has
# closed the stream it captured; its chatter says nothing the email tests assert.
logging.getLogger("mail.log").setLevel(logging.WARNING)


@pytest.fixture
def restore_logging():
    """`raqib.cli.main` points the root logger at the test's captured stderr; undo that."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    for h in list(root.handlers):
        if h not in handlers:
            root.removeHandler(h)
    root.setLevel(level)


def pytest_terminal_summary(terminalreporter):
    """One line, once, when PostgreSQL tests were skipped for want of a server (read from
    the skip reports, so it works when workers ran the tests)."""
    from tests.support import pg

    skipped = terminalreporter.stats.get("skipped", [])
    if any(pg.SKIP_REASON in str(getattr(r, "longrepr", "")) for r in skipped):
        terminalreporter.write_line(pg.ENABLE.format(url=pg.server_url()), yellow=True)
