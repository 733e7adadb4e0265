"""Feeds added at run time cannot reach, or be redirected into, private addresses."""
from __future__ import annotations

import httpx
import pytest

from monitor.errors import FetchError
from monitor.fetch import Fetcher

RSS = b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title></channel></rss>'


def transport(seen: list[str]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        if request.url.path == "/moved":
            return httpx.Response(302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})
        return httpx.Response(200, content=RSS, headers={"Content-Type": "application/rss+xml"})
    return httpx.MockTransport(handler)


async def test_a_redirect_into_the_local_network_is_refused_before_it_is_requested():
    seen: list[str] = []
    async with Fetcher(transport=transport(seen)) as fetcher:
        with pytest.raises(FetchError) as err:
            await fetcher.fetch("opml-feed", "http://93.184.216.34/moved", private_ok=False)
    assert err.value.kind == "blocked"
    assert seen == ["http://93.184.216.34/moved"]  # the metadata address was never asked


async def test_private_targets_are_refused_at_the_first_hop_too():
    seen: list[str] = []
    async with Fetcher(transport=transport(seen)) as fetcher:
        for url in ("http://127.0.0.1:8080/rss", "http://10.1.2.3/rss", "http://localhost/rss"):
            with pytest.raises(FetchError) as err:
                await fetcher.fetch("opml-feed", url, private_ok=False)
            assert err.value.kind == "blocked"
    assert seen == []


async def test_feeds_from_the_config_file_are_trusted_as_written():
    seen: list[str] = []
    async with Fetcher(transport=transport(seen)) as fetcher:
        result = await fetcher.fetch("intranet", "http://10.1.2.3/rss")
    assert result.status == "ok"
