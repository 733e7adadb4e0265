"""`raqib backup`: an online copy of the SQLite database, or `pg_dump` of a PostgreSQL one."""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit, urlunsplit

from monitor.config import load_config
from monitor.dburl import is_postgres
from monitor.errors import StoreError
from monitor.store import Store
from monitor.store.db import pg_dump_command

from .common import config_path


def cmd_backup(args: argparse.Namespace) -> int:
    config = load_config(config_path(args))
    if is_postgres(config.database):
        if Path(args.file).exists() and not args.force:
            raise StoreError(f"{args.file} exists; nothing was written",
                             hint="pass --force to overwrite it, or name another file")
        return _pg_dump(str(config.database), args.file)
    if not Path(config.database).exists():
        raise StoreError(f"no database at {config.database} to back up",
                         hint="raqib run creates it; check `database:` in the config")
    store = Store(config.database, readonly=True)
    try:
        store.backup(args.file, overwrite=args.force)
    finally:
        store.close()
    print(f"backup written to {args.file}")
    return 0


def _pg_dump(url: str, target: str) -> int:
    """PostgreSQL is backed up by its own tool: run `pg_dump` when it is installed (the
    password goes by environment, not on the command line), else say what to run."""
    exe = shutil.which("pg_dump")
    if exe is None:
        raise StoreError("raqib backup copies SQLite files; a PostgreSQL database is backed up with pg_dump, "
                         "which is not installed here",
                         hint=f"on a machine with the PostgreSQL client tools run: {pg_dump_command(url, target)}")
    parts = urlsplit(url)
    env = dict(os.environ)
    if parts.password is not None:
        env["PGPASSWORD"] = unquote(parts.password)
        netloc = (parts.username or "") + "@" + (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
        url = urlunsplit(parts._replace(netloc=netloc))
    command = [exe, "--format=custom", f"--file={target}"]
    for option in parse_qs(parts.query).get("options", []):  # a URL that selects a schema dumps that schema
        for word in option.split():
            if word.startswith("-csearch_path="):
                command.append(f"--schema={word.split('=', 1)[1].split(',')[0]}")
    done = subprocess.run([*command, url], env=env, stderr=subprocess.PIPE, text=True, timeout=24 * 3600)
    if done.returncode != 0:
        raise StoreError(f"pg_dump failed (exit {done.returncode}): {done.stderr.strip()[:500]}",
                         hint=f"the command was: {pg_dump_command(url, target)}")
    os.chmod(target, 0o600)
    print(f"backup written to {target} (pg_dump custom format; restore with pg_restore)")
    return 0
