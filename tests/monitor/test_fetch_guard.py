"""Feeds added at run time cannot reach, or be redirected into, private addresses.

The address rule (monitor.urls) refuses every address that is not plainly public,
including the ones Python 3.11's `is_private` lets through (100.64.0.0/10 with the
100.100.100.200 metadata address, 192.0.0.192, 6to4 and NAT64 forms of loopback). The
guarded transport (monitor.guard) resolves a name once, checks every answer and connects
to what it checked: a DNS server that answers differently the second time (rebinding)
never gets a second question; a name that does not resolve is never connected to. Its
resolver and inner network backend are the seams the tests use to play a DNS server and
a network where a public address leads to a server on 127.0.0.1.
"""
from __future__ import annotations

import httpcore
import httpx
import pytest

from monitor.aionet import AsyncioBackend
from monitor.errors import FetchError
from monitor.fetch import Fetcher
from monitor.guard import BlockedAddress, PublicOnlyBackend, PublicOnlyTransport
from monitor.urls import check_feed_url
from tests.support.feedserver import feed_server  # noqa: F401  (the fixture)

RSS = b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title></channel></rss>'


def transport(seen: list[str]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        if request.url.path == "/moved":
            return httpx.Response(302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})
        if request.url.path == "/moved-6to4":
            return httpx.Response(302, headers={"Location": "http://[2002:7f00:1::]/admin"})
        return httpx.Response(200, content=RSS, headers={"Content-Type": "application/rss+xml"})
    return httpx.MockTransport(handler)


@pytest.mark.parametrize("path", ["/moved", "/moved-6to4"])
async def test_a_redirect_into_the_local_network_is_refused_before_it_is_requested(path):
    seen: list[str] = []
    async with Fetcher(transport=transport(seen)) as fetcher:
        with pytest.raises(FetchError) as err:
            await fetcher.fetch("opml-feed", f"http://93.184.216.34{path}", private_ok=False)
    assert err.value.kind == "blocked"
    assert seen == [f"http://93.184.216.34{path}"]  # the metadata address was never asked


async def test_private_targets_are_refused_at_the_first_hop_too():
    seen: list[str] = []
    async with Fetcher(transport=transport(seen)) as fetcher:
        for url in ("http://127.0.0.1:8080/rss", "http://10.1.2.3/rss", "http://localhost/rss",
                    "http://100.100.100.200/latest/meta-data/", "http://192.0.0.192/", "http://[2002:7f00:1::]/",
                    "http://metadata.google.internal/computeMetadata/v1/"):
            with pytest.raises(FetchError) as err:
                await fetcher.fetch("opml-feed", url, private_ok=False)
            assert err.value.kind == "blocked"
    assert seen == []


async def test_feeds_from_the_config_file_are_trusted_as_written():
    seen: list[str] = []
    async with Fetcher(transport=transport(seen)) as fetcher:
        result = await fetcher.fetch("intranet", "http://10.1.2.3/rss")
    assert result.status == "ok"


@pytest.mark.parametrize("address", [
    "100.100.100.200", "100.64.0.1", "100.127.255.254", "192.0.0.192", "192.0.0.1", "192.88.99.1",
    "198.18.0.1", "224.0.0.251", "239.255.255.250", "255.255.255.255", "0.0.0.0",
    "[2002:7f00:1::]", "[2002:a00:1::]", "[::ffff:169.254.169.254]", "[::127.0.0.1]", "[64:ff9b::7f00:1]",
    "[64:ff9b:1::a00:1]", "[2001:0:4136:e378:8000:63bf:3fff:fdd2]", "[fd00:ec2::254]", "[ff02::1]", "[::]",
])
def test_addresses_that_are_not_plainly_public_are_refused(address):
    assert check_feed_url(f"http://{address}/rss") is not None


@pytest.mark.parametrize("address", [
    "93.184.216.34", "[2606:2800:220:1:248:1893:25c8:1946]", "[2002:5db8:d822::]", "[64:ff9b::5db8:d822]",
])
def test_public_addresses_and_their_6to4_and_nat64_forms_pass(address):
    assert check_feed_url(f"http://{address}/rss") is None


# -- the guarded transport ------------------------------------------------------------------

class RebindingDNS:
    """Answers a public address the first time and loopback after, as a rebinding attack does."""

    def __init__(self, *answers: list[str] | Exception) -> None:
        self.answers = list(answers)
        self.questions: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.questions.append(host)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


class Network(httpcore.AsyncNetworkBackend):
    """A network where each public address listed leads to a server on 127.0.0.1."""

    def __init__(self, routes: dict[str, int]) -> None:
        self.routes = routes
        self.connects: list[str] = []
        self.real = AsyncioBackend()

    async def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        self.connects.append(host)
        if host not in self.routes:
            raise httpcore.ConnectError(f"no route to {host}")
        return await self.real.connect_tcp("127.0.0.1", self.routes[host], timeout=timeout)

    async def sleep(self, seconds: float) -> None:
        await self.real.sleep(seconds)


def guarded_client(dns: RebindingDNS, network: Network) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=PublicOnlyTransport(backend=PublicOnlyBackend(resolver=dns, inner=network)))


async def test_the_connection_goes_to_the_address_that_was_checked(feed_server):
    feed_server.route("/rss.xml", body=RSS)
    dns = RebindingDNS(["93.184.216.34"], ["127.0.0.1"])
    network = Network({"93.184.216.34": feed_server.port})
    async with guarded_client(dns, network) as client:
        response = await client.get("http://feeds.example/rss.xml")
    assert response.status_code == 200 and response.content == RSS
    assert dns.questions == ["feeds.example"]  # asked once: no second answer to rebind with
    assert network.connects == ["93.184.216.34"]  # connected to the checked address, not the name
    assert feed_server.requests[-1].headers["host"] == "feeds.example"


async def test_a_name_with_any_private_answer_is_refused_before_connecting():
    dns = RebindingDNS(["93.184.216.34", "10.0.0.1"])
    network = Network({})
    async with guarded_client(dns, network) as client:
        with pytest.raises(BlockedAddress, match="10.0.0.1"):
            await client.get("http://feeds.example/rss.xml")
    assert network.connects == []


async def test_a_dns_failure_fails_closed():
    dns = RebindingDNS(OSError("temporary failure in name resolution"))
    network = Network({})
    async with guarded_client(dns, network) as client:
        with pytest.raises(httpx.ConnectError, match="cannot resolve feeds.example"):
            await client.get("http://feeds.example/rss.xml")
    assert network.connects == []


async def test_a_name_that_resolves_to_loopback_is_refused_on_the_real_network(feed_server):
    feed_server.route("/rss.xml", body=RSS)
    url = f"http://127.1:{feed_server.port}/rss.xml"  # a name to the resolver, 127.0.0.1 in the end
    async with Fetcher() as fetcher:
        with pytest.raises(FetchError) as err:
            await fetcher.fetch("opml-feed", url, private_ok=False)
        assert err.value.kind == "blocked" and "127.0.0.1" in str(err.value)
        assert feed_server.routes["/rss.xml"].hits == 0
        result = await fetcher.fetch("config-feed", url)  # the config's own feeds are trusted
    assert result.status == "ok"
