"""`raqib demo` serves an article page for each item; the sample story's page has the whole
text while its feed item carries the first paragraph, so كورسك is in the body alone."""
from __future__ import annotations

import shutil

import pytest

from monitor.article import ArticleReader, wants_article
from monitor.decode import decode_feed
from monitor.match import Matcher
from monitor.parse import parse_feed
from monitor.parse_pool import ParsePool
from monitor.settings import FulltextSettings
from monitor.watchlists import load_watchlists
from raqib.demo import OUTLETS, SAMPLE_GUID, FeedServer, bundled, publish_articles


@pytest.mark.slow
async def test_the_demo_serves_each_items_page_and_the_sample_story_whole(tmp_path):
    feeds = tmp_path / "feeds"
    shutil.copytree(bundled("feeds"), feeds)
    matcher = Matcher(load_watchlists(bundled("watchlists")))
    pool = ParsePool(2)
    try:
        with FeedServer(feeds) as server:
            pages = publish_articles(feeds, server.base_url)
            feed_url = f"{server.base_url}/{OUTLETS['skynews-arabia']}"
            parsed = parse_feed("skynews-arabia", decode_feed((feeds / OUTLETS["skynews-arabia"]).read_bytes(), None),
                                feed_url, None)
            sample = next(s for s in parsed.stories if s.guid == SAMPLE_GUID)
            other = parsed.stories[5]
            assert all(s.url.startswith(f"{server.base_url}/articles/") for s in parsed.stories)
            assert wants_article(sample, "auto")
            feed_terms = {m.term for m in matcher.match(sample.title, sample.summary)}
            assert "كورسك" not in feed_terms and "دوروف" not in feed_terms
            async with ArticleReader(FulltextSettings(interval=0.0), pool=pool) as reader:
                result = await reader.read(sample.url, feed_url=feed_url)
                plain = await reader.read(other.url, feed_url=feed_url)
    finally:
        pool.close()
    assert pages == sum(1 for _ in feeds.glob("articles/*.html")) > 1000
    assert result.ok, result.reason
    body_terms = {m.term for m in matcher.match(result.body)}
    assert {"كورسك", "دوروف"} <= body_terms
    assert "زيلينسكي" not in body_terms  # named in the page's read-also box only
    assert len(result.body.split("\n\n")) >= 12
    assert plain.ok and " ".join(other.summary.split()[:4]) in plain.body
