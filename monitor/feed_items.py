"""Reading only the items of a feed not read before: the items a feed carried at an
earlier poll are cut out of its text before it is parsed.

A feed is mostly the same 20-50 items from one poll to the next, and it is sent whole
whenever anything in it changed: one new item, or only its `lastBuildDate`. feedparser
takes about half a millisecond of CPU an item (a 40-item feed of 37 KB, 18 ms), so
reading the whole feed again to find its one new item is most of the CPU a poll costs.

Rules:
- An item is the text of one `<item>…</item>` or `<entry>…</entry>` (`item_spans`, on
  the text as it is parsed: `prepare_text`), known by the 64-bit BLAKE2b of that text.
- `done` (the poller's, for this feed, in memory: a node's first poll of a feed since
  it started reads the whole feed) holds the keys of the items this process read at its last
  poll of the feed, cleanly, and whose stories were then all ingested. Those
  items are cut out of the text (only they: the channel, and whatever lies between
  items, stays) and the rest is parsed.
- That reading is taken only when it is clean: feedparser read it as a feed without
  complaint (no bozo, no exception, not "not a feed": a text without a feed's root is a
  feed by its items alone) and found exactly the items left in. Otherwise the
  whole text is parsed, as it is without `done`. So an item is at worst read again,
  never lost: a feed that is not well-formed XML is read whole at every poll.
- `ParsedFeed.items` says what the poller keeps for the next poll once this result is
  ingested with nothing deferred: the keys of every item of the text when it was read
  cleanly with no bad item; when an item was bad (its reason is reported at every poll
  while it is there), only the items cut out; after an unclean reading, none.
- The same item text always gives the same story (its guid, link, title and dates come
  from the item itself; an item without a date is dated when first seen, and a known
  guid is skipped anyway), so an item cut out is one whose story is stored already.
"""
from __future__ import annotations

import dataclasses
import hashlib
from datetime import datetime

from .errors import ParseError
from .parse import ParsedFeed, item_spans, parse_prepared, prepare_text

KEY = 8  # bytes of an item's key


def item_key(item: str) -> bytes:
    return hashlib.blake2b(item.encode("utf-8", "surrogatepass"), digest_size=KEY).digest()


def parse_new_items(feed: str, text: str, url: str, fetched: datetime, done: bytes = b"") -> ParsedFeed:
    """The feed's stories, its items in `done` (keys one after another) left unread; see
    the module docstring. Raises ParseError as `parse_feed` does."""
    text = prepare_text(text)
    spans = item_spans(text)
    keys = [item_key(text[start:stop]) for start, stop in spans]
    known = {done[i:i + KEY] for i in range(0, len(done), KEY)}
    cut = [n for n, key in enumerate(keys) if key in known]
    if cut:
        try:
            parsed = parse_prepared(feed, _without(text, [spans[n] for n in cut]), url, fetched)
        except ParseError:  # what is left is no feed (its items made it one): read it whole
            parsed = None
        if parsed is not None and _clean(parsed, len(spans) - len(cut)):
            kept = keys if not parsed.bad_items else [keys[n] for n in cut]
            return dataclasses.replace(parsed, items=tuple(kept))
    parsed = parse_prepared(feed, text, url, fetched)
    if _clean(parsed, len(spans)) and not parsed.bad_items:
        return dataclasses.replace(parsed, items=tuple(keys))
    return parsed


def _clean(parsed: ParsedFeed, items: int) -> bool:
    return not parsed.malformed and parsed.entries == items


def _without(text: str, spans: list[tuple[int, int]]) -> str:
    """`text` with the `spans` (in order, not overlapping) cut out."""
    pieces, pos = [], 0
    for start, stop in spans:
        pieces.append(text[pos:start])
        pos = stop
    pieces.append(text[pos:])
    return "".join(pieces)
