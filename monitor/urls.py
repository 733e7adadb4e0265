"""Which feed URLs may be added at run time (OPML import, bot admins): no SSRF.

A feed URL must be http(s) with a host. Feeds added at run time must not point at
loopback, private, link-local, multicast or reserved addresses (checked on every address
the host name resolves to) unless the config says `allow_private_feeds: true`. Feeds
written in the config file by its owner are trusted as written.
"""
from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit


def is_private_address(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return (ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_multicast
            or ip.is_reserved or ip.is_unspecified)


def check_feed_url(url: str, *, allow_private: bool = False, resolve: bool = True) -> str | None:
    """None when `url` may be polled; otherwise why not."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return "not a URL"
    if parts.scheme not in ("http", "https"):
        return "only http and https feeds are polled"
    host = parts.hostname
    if not host:
        return "the URL has no host"
    if allow_private:
        return None
    try:
        return "points at a private or loopback address" if is_private_address(ipaddress.ip_address(host)) else None
    except ValueError:
        pass
    if host == "localhost" or host.endswith(".localhost") or host.endswith(".local"):
        return "points at a private or loopback address"
    if not resolve:
        return None
    try:
        infos = socket.getaddrinfo(host, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        return "the host name does not resolve"
    for info in infos:
        if is_private_address(ipaddress.ip_address(info[4][0].split("%")[0])):
            return "resolves to a private or loopback address"
    return None
