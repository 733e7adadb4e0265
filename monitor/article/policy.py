"""When the page behind a feed item is read (a feed's `fulltext: auto | always | never`).

Rules:
- An item carries its article when the feed gave its text: `Story.body` is not empty
  (RSS content:encoded or an Atom <content>, `monitor.parse`), or its description has at
  least LONG_DESCRIPTION (150) words (words: runs of letters or digits).
- `auto` (the default) reads the page of an item that does not carry its article;
  `always` reads every item's page; `never` reads none. An item without an http(s) link
  has no page to read, whatever the mode.
- Only new stories come here: the caller asks once per story it stores for the first time.
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from ..config import FULLTEXT_MODES
from ..models import Story

LONG_DESCRIPTION = 150  # words: a description this long is the article itself
_WORD = re.compile(r"[^\W_]+")


def carries_article(story: Story) -> bool:
    """Whether the feed item carries its article (see the module docstring)."""
    if story.body.strip():
        return True
    counted = enumerate(_WORD.finditer(story.summary), start=1)
    return any(words >= LONG_DESCRIPTION for words, _ in counted)  # stops counting at the threshold


def wants_article(story: Story, mode: str) -> bool:
    """Whether the page behind `story` is to be read under the feed's `fulltext` mode."""
    if mode not in FULLTEXT_MODES:
        raise ValueError(f"fulltext mode must be one of {', '.join(FULLTEXT_MODES)}, not {mode!r}")
    if mode == "never" or urlsplit(story.url).scheme not in ("http", "https"):
        return False
    return mode == "always" or not carries_article(story)
