"""`raqib migrate-db`: every row of one database copied into another (SQLite to PostgreSQL)."""
from __future__ import annotations

import argparse
from pathlib import Path

from monitor.dburl import is_postgres
from monitor.errors import StoreError
from monitor.store import Store
from monitor.store.copy import copy_database


def cmd_migrate_db(args: argparse.Namespace) -> int:
    if not is_postgres(args.source) and not Path(args.source).exists():
        raise StoreError(f"no database at {args.source} to move", hint="--from names the SQLite file of `database:`")
    source = Store(args.source, readonly=True)
    try:
        target = Store(args.target)  # created and migrated if new
        try:
            counts = copy_database(source, target, replace=args.replace, batch=args.batch)
        finally:
            target.close()
    finally:
        source.close()
    for table, n in counts.items():
        print(f"{table}: {n}")
    print(f"moved {sum(counts.values())} rows from {source.where} to {target.where}; "
          f"point `database:` at the new one and start raqib")
    return 0
