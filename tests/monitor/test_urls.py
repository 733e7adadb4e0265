"""Feeds added at run time cannot reach loopback or private addresses (no SSRF)."""
from __future__ import annotations

import pytest

from monitor.urls import check_feed_url


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/feed", "http://localhost:8080/rss", "http://10.0.0.5/rss", "http://192.168.1.1/",
    "http://172.16.3.4/", "http://169.254.169.254/latest/meta-data/", "http://[::1]/rss",
    "http://[::ffff:127.0.0.1]/rss", "http://0.0.0.0/", "http://printer.local/rss",
])
def test_private_and_loopback_addresses_are_refused(url):
    assert check_feed_url(url) is not None


@pytest.mark.parametrize("url, why", [
    ("file:///etc/passwd", "http"), ("gopher://x.example/", "http"), ("http:///path", "no host"),
])
def test_only_http_urls_with_a_host(url, why):
    assert why in check_feed_url(url)


def test_public_addresses_and_the_explicit_override():
    assert check_feed_url("https://93.184.216.34/rss") is None
    assert check_feed_url("http://127.0.0.1/feed", allow_private=True) is None
