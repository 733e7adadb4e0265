"""The web view at the HTTP level, on real Arabic stories polled through the real daemon
(tests/support/web_site.py): every page, the language switch, escaping of hostile feed text, the
security headers, the bounds, read-only methods, CSRF, auth, and the server inside the
daemon's loop stopping with it."""
from __future__ import annotations

import asyncio
import base64
import re
import socket
from datetime import UTC, datetime

import httpx
import pytest
import pytest_asyncio

from monitor.config import load_config
from monitor.errors import ConfigError
from monitor.settings import read_settings
from raqib.web import Desk, WebView
from raqib.web.auth import hash_password
from tests.support import sql
from tests.support.inprocess import WATCHLISTS, make_daemon
from tests.support.web_site import FOOTBALL_TITLE, ORIGIN, PUTIN_TITLE, desk_site

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def site(tmp_path_factory):
    async with desk_site(tmp_path_factory.mktemp("desk")) as s:
        yield s


def story_id(site, title: str) -> int:
    return sql.story_value(site.daemon.store, "id", title=title)  # the first of its copies


# -- pages ----------------------------------------------------------------------------------

async def test_alerts_page_is_arabic_rtl_with_marks_outlets_and_links(site):
    r = await site.client.get("/")
    assert r.status_code == 200
    html = r.text
    assert '<html lang="ar" dir="rtl">' in html
    assert "<mark>بوتين</mark> يدعم هاريس" in html  # the matched word, from the alert's own spans
    assert "نقلته أيضاً" in html and "paper-b" in html  # the copy from the other outlet
    assert 'href="https://agency-a.example/world/putin-harris?utm_source=rss"' in html
    assert "أسعار النفط" in html  # the oil watchlist's alert
    assert FOOTBALL_TITLE not in html  # excluded: never alerted
    assert "البروتين" not in html


async def test_alerts_filter_by_watchlist_source_and_day(site):
    oil = (await site.client.get("/", params={"watchlist": "oil"})).text
    assert "أسعار النفط" in oil and "يدعم هاريس" not in oil
    hostile = (await site.client.get("/", params={"source": "hostile"})).text
    assert "زيارة مفاجئة" in hostile and "يدعم هاريس" not in hostile
    # the day a card prints (the story's publication day) finds it, not the day it was alerted
    page = (await site.client.get("/")).text
    card = next(c for c in page.split('<article class="alert">') if "يدعم هاريس" in c)
    day = re.search(r"<time>(\d{4}-\d\d-\d\d) ", card)[1]
    assert "يدعم هاريس" in (await site.client.get("/", params={"day": day})).text
    today = datetime.fromtimestamp(site.daemon.clock(), UTC).strftime("%Y-%m-%d")
    if today != day:
        assert "يدعم هاريس" not in (await site.client.get("/", params={"day": today})).text
    assert "يدعم هاريس" not in (await site.client.get("/", params={"day": "2001-01-01"})).text
    bad = await site.client.get("/", params={"day": "yesterday"})
    assert bad.status_code == 400 and "day: expected a day as YYYY-MM-DD" in bad.text


async def test_english_switch_is_remembered(site):
    r = await site.client.get("/", params={"lang": "en"})
    assert '<html lang="en" dir="ltr">' in r.text and "Also reported by" in r.text
    assert "lang=en" in r.headers["set-cookie"] and "samesite=strict" in r.headers["set-cookie"].lower()
    again = await site.client.get("/feeds")  # the client sends the cookie back
    assert '<html lang="en"' in again.text and "Feed health" in again.text
    back = await site.client.get("/", params={"lang": "ar"})
    assert '<html lang="ar" dir="rtl">' in back.text
    site.client.cookies.clear()


async def test_story_page_lists_every_outlet_with_its_time_and_a_timeline(site):
    sid = story_id(site, PUTIN_TITLE)
    r = await site.client.get(f"/story/{sid}")
    assert r.status_code == 200
    table = r.text.split('<table class="outlets">', 1)[1]
    assert table.index("agency-a") < table.index("paper-b")  # first outlet first
    assert len(re.findall(r"<time>\d{4}-\d\d-\d\d \d\d:\d\d</time>", table)) == 2
    timeline = r.text.split('<svg class="timeline"', 1)[1].split("</svg>", 1)[0]
    assert timeline.count("<circle") == 2
    assert "روسيا وأوكرانيا" in r.text  # the watchlist that alerted on it
    assert (await site.client.get("/story/999999")).status_code == 404
    assert (await site.client.get("/story/99999999999999999999999")).status_code == 404


async def test_watchlists_page_has_168_hourly_bars_each(site):
    r = await site.client.get("/watchlists")
    charts = re.findall(r'<svg class="bars".*?</svg>', r.text, re.S)
    assert len(charts) == 2  # oil and russia-ukraine
    for chart in charts:
        assert chart.count("<rect") == 168
    assert any('class="on"' in c for c in charts)  # this hour's alerts are drawn
    latest = r.text.split('<ul class="latest">')
    assert any("<mark>بوتين</mark> يدعم هاريس" in part.split("</ul>")[0] for part in latest[1:])


async def test_watchlist_page_prefills_the_try_box_and_lists_its_alerts(site):
    r = await site.client.get("/watchlists/russia-ukraine")
    assert r.status_code == 200
    textarea = r.text.split('<textarea name="yaml"', 1)[1].split("</textarea>", 1)[0]
    assert "name: russia-ukraine" in textarea and "كرة القدم" in textarea
    assert "<mark>بوتين</mark>" in r.text.split("آخر تنبيهاتها", 1)[1]
    assert (await site.client.get("/watchlists/nope")).status_code == 404


async def test_try_box_shows_what_it_would_catch_and_what_exclude_dropped(site):
    text = (WATCHLISTS / "russia.yaml").read_text(encoding="utf-8")
    r = await site.client.post("/try", data={"yaml": text, "days": "3"}, headers={"origin": ORIGIN})
    assert r.status_code == 200
    caught = r.text.split('id="caught"', 1)[1].split('id="dropped"', 1)[0]
    assert "يدعم هاريس" in caught and FOOTBALL_TITLE not in caught
    dropped = r.text.split('id="dropped"', 1)[1]
    assert "exclude" in dropped and "كرة القدم" in dropped and "فريقي <mark>بوتين</mark>" in dropped
    # edited: without the exclude rule the football story is caught; nothing was saved
    edited = text.replace("exclude:\n  - كرة القدم\n", "")
    r = await site.client.post("/try", data={"yaml": edited}, headers={"origin": ORIGIN})
    assert FOOTBALL_TITLE.split()[0] in r.text.split('id="caught"', 1)[1]
    assert (WATCHLISTS / "russia.yaml").read_text(encoding="utf-8") == text


async def test_try_box_reports_a_broken_file_with_its_line(site):
    r = await site.client.post("/try", data={"yaml": "name: x\nterms: [بوتين\n", "file": "x.yaml"},
                               headers={"origin": ORIGIN})
    assert r.status_code == 200 and "x.yaml:" in r.text


async def test_feeds_page_health_sparklines_errors_in_words_and_escaped_titles(site):
    r = await site.client.get("/feeds")
    assert r.status_code == 200
    assert r.text.count('<svg class="spark"') == 4
    broken = r.text.split('<td class="source">broken', 1)[1].split("</tr>", 1)[0]
    assert "الصفحة غير موجودة على الخادم (404)" in broken and "HTTP 404" in broken
    # the feed's own title holds a script tag: it is text on the page, never markup
    assert "وكالة &lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;" in r.text
    assert "<script" not in r.text


async def test_hostile_story_text_is_escaped_and_its_javascript_link_dropped(site):
    html = (await site.client.get("/", params={"source": "hostile"})).text
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;" in html and "&lt;img src=x onerror=" in html
    assert "javascript:" not in html


async def test_search_finds_the_word_with_its_rules(site):
    r = await site.client.get("/search", params={"q": "بوتين"})
    assert r.status_code == 200
    assert "يدعم هاريس" in r.text and "<mark>بوتين</mark>" in r.text
    assert "البروتين" not in r.text
    by_source = await site.client.get("/search", params={"q": "بوتين", "source": "paper-b"})
    assert "عاجل" in by_source.text and "agency-a.example" not in by_source.text
    bad = await site.client.get("/search", params={"q": "|" * 20})
    assert bad.status_code == 400 and "query:" in bad.text


# -- what every answer carries, and what is refused -------------------------------------------

@pytest.mark.parametrize("path", ["/", "/feeds", "/watchlists", "/search", "/try", "/nope", "/static/style.css"])
async def test_security_headers_on_every_answer(site, path):
    r = await site.client.get(path)
    csp = r.headers["content-security-policy"]
    for part in ("default-src 'none'", "style-src 'self'", "img-src 'self' data:", "form-action 'self'",
                 "frame-ancestors 'none'"):
        assert part in csp
    assert "script-src" not in csp and "unsafe-inline" not in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "same-origin"


async def test_read_only_methods_csrf_and_bounds(site):
    assert (await site.client.post("/", data={"a": "b"}, headers={"origin": ORIGIN})).status_code == 405
    assert (await site.client.put("/try", content=b"x", headers={"origin": ORIGIN})).status_code == 405
    assert (await site.client.delete("/feeds")).status_code == 405
    form = {"yaml": "name: x\nterms: [بوتين]\n"}
    assert (await site.client.post("/try", data=form)).status_code == 403  # no Origin
    cross = await site.client.post("/try", data=form, headers={"origin": "http://evil.example"})
    assert cross.status_code == 403
    site_fetch = await site.client.post("/try", data=form, headers={"origin": ORIGIN, "sec-fetch-site": "cross-site"})
    assert site_fetch.status_code == 403
    big = await site.client.post("/try", data={"yaml": "ب" * 70_000}, headers={"origin": ORIGIN})
    assert big.status_code == 413
    huge = await site.client.post("/try", content=b"yaml=" + b"a" * 300_000, headers={
        "origin": ORIGIN, "content-type": "application/x-www-form-urlencoded"})
    assert huge.status_code == 413
    assert (await site.client.get("/search", params={"q": "ب" * 600})).status_code == 400
    assert (await site.client.get("/?" + "&".join(f"x{i}=1" for i in range(30)))).status_code == 400
    rebound = await site.client.get("/", headers={"host": "evil.example"})
    assert rebound.status_code == 421


async def test_a_damaged_database_is_an_error_page_without_traceback(site, tmp_path):
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"this is not a database" * 100)
    view = WebView(Desk(database=bad, watchlists=lambda: []))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=view.app), base_url=ORIGIN) as client:
        r = await client.get("/feeds")
    view.close()
    assert r.status_code in (500, 503)
    assert "Traceback" not in r.text and "File \"" not in r.text
    assert "content-security-policy" in r.headers


# -- auth -------------------------------------------------------------------------------------

async def test_a_public_address_without_auth_is_refused_naming_web_auth(tmp_path, monkeypatch, capsys,
                                                                        restore_logging):
    from raqib.cli import main

    monkeypatch.delenv("RAQIB_WEB_AUTH", raising=False)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    path = tmp_path / "raqib.yaml"
    path.write_text(f"watchlists: {WATCHLISTS}\nweb:\n  listen: 0.0.0.0:8080\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        read_settings(load_config(path))
    assert str(err.value).startswith(f"{path}:3: web.auth: required when web.listen (0.0.0.0) is not a loopback")
    assert main(["check", "--config", str(path)]) == 1  # check refuses what run refuses
    assert f"{path}:3: web.auth: required" in capsys.readouterr().out
    assert main(["run", "--config", str(path), "--seconds", "1"]) == 1  # and run does not start
    assert "web.auth: required" in capsys.readouterr().err
    assert not (tmp_path / "var").exists()  # refused before the database was made
    path.write_text("web:\n  listen: 127.0.0.1:8080\n", encoding="utf-8")
    assert read_settings(load_config(path)).web.auth is None  # loopback: no auth needed
    monkeypatch.setenv("RAQIB_WEB_AUTH", "token:" + "s" * 20)
    path.write_text("web:\n  listen: 0.0.0.0:8080\n", encoding="utf-8")
    assert read_settings(load_config(path)).web.auth.scheme == "token"
    monkeypatch.delenv("RAQIB_WEB_AUTH")
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "web_auth").write_text(hash_password("كلمة سر", n=2**10) + "\n", encoding="utf-8")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    assert read_settings(load_config(path)).web.auth.scheme == "scrypt"
    path.write_text("web:\n  listen: 0.0.0.0:8080\n  auth: token:short\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r":3: web.auth: a token must be token: and at least 16"):
        read_settings(load_config(path))


@pytest.mark.parametrize("auth, good, bad", [
    ("token:" + "t0k3n-" * 4, "t0k3n-" * 4, "t0k3n-" * 3),
    (hash_password("correct horse battery", n=2**10), "correct horse battery", "correct horse"),
])
async def test_token_and_password_accepted_or_refused(site, auth, good, bad):
    from monitor.settings import parse_web_auth

    parsed = parse_web_auth(auth, ValueError)
    view = WebView(Desk(database=site.daemon.config.database, watchlists=site.daemon.watchlists),
                   auth=parsed, loopback_only=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=view.app), base_url="http://desk.example") as c:
        refused = await c.get("/feeds")
        assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Basic")
        assert (await c.get("/feeds", headers={"authorization": f"Bearer {bad}"})).status_code == 401
        assert (await c.get("/feeds", headers={"authorization": f"Bearer {good}"})).status_code == 200
        basic = base64.b64encode(f"desk:{good}".encode()).decode()
        assert (await c.get("/", headers={"authorization": f"Basic {basic}"})).status_code == 200
        wrong = base64.b64encode(f"desk:{bad}".encode()).decode()
        assert (await c.get("/", headers={"authorization": f"Basic {wrong}"})).status_code == 401
    view.close()


# -- the real server, inside the daemon's loop ---------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_the_daemon_serves_the_view_and_stops_it_cleanly(tmp_path):
    port = free_port()
    made = []
    daemon, _, _ = make_daemon(made, tmp_path, {}, extra=f"web:\n  listen: 127.0.0.1:{port}\n")
    run = asyncio.create_task(daemon.run(seconds=30))
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            for _ in range(200):
                try:
                    r = await client.get("/watchlists")
                    break
                except httpx.ConnectError:
                    await asyncio.sleep(0.02)
            assert r.status_code == 200 and "روسيا وأوكرانيا" in r.text
            assert "content-security-policy" in r.headers and "server" not in r.headers
        daemon.stop()
        await asyncio.wait_for(run, 15)
        with pytest.raises(httpx.ConnectError):
            async with httpx.AsyncClient() as client:
                await client.get(f"http://127.0.0.1:{port}/")
    finally:
        if not run.done():
            daemon.stop()
            await asyncio.wait_for(run, 15)
        made.clear()  # run() closed its store


async def test_a_taken_port_is_a_clear_error(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        made = []
        daemon, _, _ = make_daemon(made, tmp_path, {}, extra=f"web:\n  listen: 127.0.0.1:{port}\n")
        with pytest.raises(ConfigError, match=f"web.listen: cannot listen on 127.0.0.1:{port}"):
            await daemon.run(seconds=5)
        made.clear()



async def test_web_password_prints_a_hash_that_web_auth_accepts(monkeypatch, capsys, restore_logging):
    import io

    from monitor.settings import parse_web_auth
    from raqib.cli import main
    from raqib.web.auth import Authenticator

    monkeypatch.setattr("sys.stdin", io.StringIO("a long desk password\n"))
    assert main(["web", "password"]) == 0
    printed = capsys.readouterr().out.strip()
    assert printed.startswith("scrypt:32768:8:1:") and "desk password" not in printed
    auth = Authenticator(parse_web_auth(printed, ValueError))
    assert auth.check("a long desk password") and not auth.check("a long desk passwor")
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["web", "password"]) == 1
    assert "at least 12 characters" in capsys.readouterr().err


async def test_sigterm_stops_the_daemon_and_its_web_view(tmp_path):
    from tests.support.daemon_harness import Daemon as DaemonProcess
    from tests.support.daemon_harness import wait_for, write_config

    port = free_port()
    config = write_config(tmp_path, {}, watchlists=WATCHLISTS, extra=f"web:\n  listen: 127.0.0.1:{port}\n")
    proc = DaemonProcess(config, tmp_path / "logs")
    try:
        def page():
            try:
                return httpx.get(f"http://127.0.0.1:{port}/watchlists", timeout=2)
            except httpx.TransportError:
                return proc.proc.poll() is not None and "exited"
        r = await asyncio.to_thread(wait_for, page, 30, 0.05, "the web view")
        assert r != "exited", proc.stderr()
        assert r.status_code == 200 and "روسيا وأوكرانيا" in r.text
        # a browser keeps its connection open: the stop does not wait on it for long
        keep = httpx.Client(base_url=f"http://127.0.0.1:{port}")
        assert keep.get("/feeds").status_code == 200
        started = asyncio.get_running_loop().time()
        assert await asyncio.to_thread(proc.stop, 20) == 0
        assert asyncio.get_running_loop().time() - started < 10
        keep.close()
        log = proc.stderr()
        assert "web view listening" in log and "raqib stopped" in log and "Traceback" not in log
    finally:
        proc.kill()


async def test_every_string_a_template_uses_is_in_both_languages():
    from pathlib import Path

    from raqib.web.texts import ERROR_WORDS, TEXTS

    folder = Path(__file__).resolve().parents[2] / "raqib" / "web" / "templates"
    used = {key for f in folder.glob("*.html") for key in re.findall(r"""\bt\(["']([a-z0-9_]+)["']\)""", f.read_text())}
    used |= {key for _, key in ERROR_WORDS} | {f"state_{s}" for s in ("ok", "new", "failing", "unhealthy", "disabled")}
    assert used and used <= set(TEXTS), used - set(TEXTS)
    assert all(ar and en and ar != en for ar, en in TEXTS.values())
