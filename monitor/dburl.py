"""What `database:` names: a `postgresql://` (or `postgres://`) URL is a PostgreSQL server,
anything else a SQLite file. Stdlib only, so reading a config never loads a driver."""
from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit


def is_postgres(database: object) -> bool:
    return isinstance(database, str) and re.match(r"^postgres(ql)?://", database) is not None


def safe_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))
