"""`raqib index`: build the dedup indexes from the database now, with the code and
settings installed, and leave them beside the snapshot for the next start.

For an upgrade that changes the dedup code (or a change of the `dedup:` settings): the
daemon refuses a snapshot written by other code or settings and rebuilds its indexes at
start, a minute and more with a large window, during which nothing is alerted. Run this
first, while the daemon of the previous release runs on (it reads the database, it does
not stop or slow the daemon beyond sharing the CPU), then restart: the new daemon takes
the prepared indexes, indexes the stories stored since, and alerts within seconds
(`monitor.indexes`: the prepared file is trusted only on the same terms as a snapshot).
"""
from __future__ import annotations

import argparse
import contextlib
import os
import time
from pathlib import Path

from monitor.config import load_config
from monitor.dburl import is_postgres
from monitor.errors import ConfigError, StoreError
from monitor.indexes import IndexKeeper, prepared_path, prepared_paths, snapshot_path
from monitor.settings import read_settings
from monitor.store import Store

from .common import config_path


def cmd_index(args: argparse.Namespace) -> int:
    config = load_config(config_path(args))
    settings = read_settings(config)
    path = snapshot_path(settings.snapshot.path, config.database, Path(config.path).parent)
    if path is None:
        raise ConfigError("the indexes have no snapshot file here (dedup.snapshot is off, or not set on "
                          "PostgreSQL): a start rebuilds them, there is nothing to prepare", file=str(config.path),
                          hint="set dedup.snapshot to a path on this node's own disk")
    if not is_postgres(config.database) and not Path(config.database).exists():
        raise StoreError(f"no database at {config.database} to index",
                         hint="raqib run creates it; check `database:` in the config")
    target = prepared_path(path, settings.dedup, settings.event)
    started = time.monotonic()
    store = Store(config.database, readonly=True)
    try:
        missing = store.schema_state().missing
        if missing:
            raise StoreError(f"the database at {store.where} is not yet migrated to this release "
                             f"({len(missing)} migration(s) missing, first {missing[0]}): its indexes are built "
                             "by the start that migrates it", hint="nothing to prepare ahead for this upgrade")
        keeper = IndexKeeper(store, settings.dedup, settings.event, snapshot=target)
        try:
            clusterer, events, seen = keeper.rebuild()
        finally:
            keeper.stop()  # an interrupted rebuild leaves no process of its own behind
        if not keeper.save(clusterer, events, seen):
            raise StoreError(f"the prepared indexes were not written to {target} (the log says why)")
        _give_to_folder_owner(target)
    finally:
        store.close()
    for other in prepared_paths(path):  # prepared earlier for other code or settings: never to be used now
        if other != target:
            with contextlib.suppress(OSError):  # what it was asked for is written: a leftover is no failure
                other.unlink()
    print(f"indexes of {len(clusterer)} stories (up to story {seen}) written to {target} in "
          f"{time.monotonic() - started:.1f} s: the next start takes them and indexes only the stories "
          f"stored since")
    return 0


def _give_to_folder_owner(path: Path) -> None:
    """Run as root beside a daemon of its own user (systemd's DynamicUser), the file is
    given to the owner of its folder, the daemon's state directory, which must read it."""
    folder = path.parent.stat()
    if os.geteuid() == 0 and folder.st_uid != 0:
        os.chown(path, folder.st_uid, folder.st_gid)
