"""Which addresses are public, and which feed URLs may be added at run time: no SSRF.

An address is public only when Python calls it global and it is in none of IANA's
special-purpose blocks that Python 3.11 still calls global: 192.0.0.0/24 (192.0.0.192
is a cloud metadata address), 192.88.99.0/24, multicast, ::/96, 64:ff9b:1::/48 and so
on. An IPv6 address that carries an IPv4 one is judged by that IPv4 address:
IPv4-mapped (::ffff:a.b.c.d), 6to4 (2002:AABB:CCDD::) and NAT64 (64:ff9b::a.b.c.d);
Teredo (2001::/32) is never public. So 100.100.100.200 (metadata, in the shared
100.64.0.0/10), 192.0.0.192 and 2002:7f00:1:: (6to4 of 127.0.0.1) are all refused.

A feed URL must be http(s) with a host (and a valid port). Feeds added at run time must
not point at non-public addresses (checked on every address the host name resolves to;
a name that does not resolve is refused too) unless the config says
`allow_private_feeds: true`. Feeds written in the config file by its owner are trusted
as written. The connection itself is guarded in `monitor.guard`.

`canonical_url` is the link with what does not name the article removed: the same story
seen again under another link is recognised by it (dedup, the pipeline's store lookups).
"""
from __future__ import annotations

import ipaddress
import socket
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

LOCAL_NAMES = ("localhost",)
LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".home.arpa")

_NOT_PUBLIC = tuple(ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15",
    "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
    "::/96", "64:ff9b:1::/48", "100::/64", "2001::/23", "2001:db8::/32", "3fff::/20", "5f00::/16",
    "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
))
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def is_private_address(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """True for every address that is not plainly public (see the module docstring)."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.teredo:
            return True
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return is_private_address(embedded)
    return not ip.is_global or ip.is_multicast or any(ip in net for net in _NOT_PUBLIC if net.version == ip.version)


def is_local_name(host: str) -> bool:
    """Names that only ever mean this machine or its network."""
    host = host.lower().rstrip(".")
    return host in LOCAL_NAMES or host.endswith(LOCAL_SUFFIXES)


def literal_target_problem(host: str) -> str | None:
    """Why `host` is certainly not public without asking DNS (an address literal or a
    local name), or None."""
    try:
        ip = ipaddress.ip_address(host.strip("[]").split("%")[0])
    except ValueError:
        return f"{host} is a local name" if is_local_name(host) else None
    return f"{host} is a private, loopback or reserved address" if is_private_address(ip) else None


def check_feed_url(url: str, *, allow_private: bool = False, resolve: bool = True) -> str | None:
    """None when `url` may be polled; otherwise why not."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return "not a URL (a bad host or port)"
    if parts.scheme not in ("http", "https"):
        return "only http and https feeds are polled"
    host = parts.hostname
    if not host:
        return "the URL has no host"
    if allow_private:
        return None
    if literal_target_problem(host):
        return "points at a private or loopback address"
    if is_address_literal(host) or not resolve:
        return None
    try:
        infos = socket.getaddrinfo(host, port or 443, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return "the host name does not resolve"
    for info in infos:
        if is_private_address(ipaddress.ip_address(str(info[4][0]).split("%")[0])):
            return "resolves to a private or loopback address"
    return None


def private_target(url: str, *, resolve: bool = True) -> str | None:
    """Why `url` points at a non-public address (an address literal, a local name or, with
    `resolve`, a name that resolves to one), or None. A name that does not resolve is not
    reported here: a guarded connection to it fails closed anyway."""
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:
        return None
    if not host:
        return None
    problem = literal_target_problem(host)
    if problem or not resolve or is_address_literal(host):
        return problem
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return None
    for info in infos:
        address = str(info[4][0]).split("%")[0]
        if is_private_address(ipaddress.ip_address(address)):
            return f"{host} resolves to a private, loopback or reserved address ({address})"
    return None


def is_address_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


# -- canonical URLs ---------------------------------------------------------------------

_HOST_PREFIXES = ("www.", "m.", "mobile.", "amp.", "www1.", "www2.")
_TRACKERS = frozenset({
    "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "mc_cid", "mc_eid",
    "igshid", "_ga", "_gl", "ocid", "cmpid", "s_cid", "xtor", "ito", "at_medium",
    "at_campaign", "at_source", "ref", "ref_src", "ref_url", "spm", "__twitter_impression",
    "amp", "outputtype", "_hsenc", "_hsmi", "mkt_tok", "vero_id", "wt.mc_id", "ns_source",
    "ns_mchannel", "ns_campaign", "cid", "share", "rss", "from", "src",
})
_PATH_SAFE = "/:@!$&'()*+,;=-._~"


def canonical_url(url: str) -> str:
    """The link with what does not name the article removed.

    http and https are one; the host is lower-cased without port 80/443 and without a
    leading www./m./mobile./amp.; AMP variants (a leading or trailing /amp path segment,
    a trailing .amp or ?amp) are the article itself; the query loses utm_*, fbclid, gclid
    and other trackers and is sorted; the fragment and a trailing slash go; percent
    escapes are put in one form. Text that is not an http(s) URL is returned stripped.
    """
    url = (url or "").strip()
    if not url:
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return url
    host = parts.hostname.lower().rstrip(".")
    changed = True
    while changed:
        changed = False
        for prefix in _HOST_PREFIXES:
            if host.startswith(prefix) and host.count(".") >= 2:
                host = host[len(prefix):]
                changed = True
    try:
        port = parts.port
    except ValueError:
        port = None
    if port and port not in (80, 443):
        host = f"{host}:{port}"
    path = quote(unquote(parts.path), safe=_PATH_SAFE)
    segments = [s for s in path.split("/") if s]
    if segments and segments[0].lower() == "amp":
        segments = segments[1:]
    if segments and segments[-1].lower() in ("amp", "amp.html"):
        segments = segments[:-1]
    if segments and segments[-1].lower().endswith(".amp"):
        segments[-1] = segments[-1][:-4]
    if segments and ".amp." in segments[-1].lower():
        i = segments[-1].lower().rindex(".amp.")
        segments[-1] = segments[-1][:i] + segments[-1][i + 4:]
    path = "/" + "/".join(segments) if segments else ""
    query = sorted(
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith("utm_") and k.lower() not in _TRACKERS
    )
    q = urlencode(query, quote_via=quote, safe=_PATH_SAFE.replace("&", "").replace("=", ""))
    return urlunsplit(("https", host, path, q, ""))
