"""The article behind a feed item: when to read it, how to fetch it, how to extract its text.

- `policy`: `carries_article(story)` and `wants_article(story, mode)`, the per-feed
  `fulltext: auto | always | never` rule.
- `reader`: `ArticleReader.read(url, feed_url=...)` → `ArticleResult` (fetch through the
  guarded client, private-address rule per hop, per-host pacing and back-off, robots.txt,
  one retry at most), extraction in the parse workers.
- `extract`: page bytes → main text (decode, furniture removed, trafilatura), run in a
  worker process by `monitor.parse_pool.ParsePool.extract`.
- `robots`: robots.txt per origin, cached.

Each module's docstring states its rules.
"""
from __future__ import annotations

from .policy import LONG_DESCRIPTION, carries_article, wants_article
from .reader import USER_AGENT, ArticleReader, ArticleResult, Extractor, gives_no_text

__all__ = ["LONG_DESCRIPTION", "USER_AGENT", "ArticleReader", "ArticleResult", "Extractor", "carries_article",
           "gives_no_text", "wants_article"]
