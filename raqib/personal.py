"""Every chat's own terms (/watch, /unwatch) as a watchlist of its own in the registry,
named `PERSONAL_PREFIX` + channel:chat and alerting that chat alone.

Rules: at start every chat's terms are read from the store and compiled; after a
/watch or /unwatch only that chat's watchlist is compiled again, in place; a chat left
with no term has no watchlist. A stored term that can never match (kept by an older
version) is skipped and logged; it never stops the others.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence

from monitor.errors import ConfigError
from monitor.pipeline import PERSONAL_PREFIX
from monitor.store import Store
from monitor.watchlists import Watchlist, WatchlistRegistry, personal_term

log = logging.getLogger(__name__)
PERSONAL_TITLE = "كلماتي"  # what the web view shows; an alert names it in its reader's language


def personal_name(channel: str, destination: str) -> str:
    return f"{PERSONAL_PREFIX}{channel}:{destination}"


class PersonalTerms:
    def __init__(self, registry: WatchlistRegistry, store: Store) -> None:
        self.registry = registry
        self.store = store

    def changed(self, channel: str | None = None, destination: str | None = None) -> None:
        """A chat's own terms changed: that chat's watchlist is compiled again, in place,
        and no other; without a chat, every chat's is."""
        if channel is None or destination is None:
            self.apply_all()
            return
        self.put(channel, destination, [r.term for r in self.store.subscriptions.personal_terms(channel, destination)])

    def apply_all(self) -> None:
        grouped: dict[tuple[str, str], list[str]] = {}
        for row in self.store.subscriptions.personal_terms():
            grouped.setdefault((row.channel, row.destination), []).append(row.term)
        names = {personal_name(channel, dest) for channel, dest in grouped}
        for wl in self.registry.watchlists:
            if wl.name.startswith(PERSONAL_PREFIX) and wl.name not in names:
                self.registry.put_extra(wl.name, None)
        for (channel, dest), terms in grouped.items():
            self.put(channel, dest, terms)

    def put(self, channel: str, destination: str, texts: Sequence[str]) -> None:
        """One chat's own terms as its watchlist (none without a term)."""
        terms = []
        for text in texts:
            try:
                terms.append(personal_term(text))
            except ConfigError as exc:
                log.warning("personal term skipped, it can never match channel=%s chat=%s term=%s error=%s",
                            channel, destination, text, exc)
        name = personal_name(channel, destination)
        self.registry.put_extra(name, Watchlist(name=name, title=PERSONAL_TITLE, terms=tuple(terms),
                                                notify={channel: (destination,)}) if terms else None)
