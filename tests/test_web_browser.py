"""The web view in a real headless Chromium (Debian's `chromium`, driven by Playwright;
no browser is downloaded): what a person sees, not just what the server sends.

Without /usr/bin/chromium these tests skip with the reason, unless RAQIB_REQUIRE_BROWSER=1
(set by .ci/run, which installs the package), where a missing browser fails them."""
from __future__ import annotations

import os
import shutil

import pytest
import pytest_asyncio
from inprocess import WATCHLISTS
from playwright.async_api import async_playwright
from web_site import FOOTBALL_TITLE, desk_site

from raqib.web import WebServer

CHROMIUM = os.environ.get("RAQIB_CHROMIUM", "/usr/bin/chromium")
HAVE_CHROMIUM = shutil.which(CHROMIUM) is not None
if not HAVE_CHROMIUM and os.environ.get("RAQIB_REQUIRE_BROWSER") == "1":
    raise RuntimeError(f"RAQIB_REQUIRE_BROWSER=1 but there is no Chromium at {CHROMIUM}: apt-get install chromium")

pytestmark = [pytest.mark.asyncio(loop_scope="module"),
              pytest.mark.skipif(not HAVE_CHROMIUM, reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)")]


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def browser_site(tmp_path_factory):
    async with desk_site(tmp_path_factory.mktemp("browser")) as site:
        server = WebServer(site.view, "127.0.0.1:0")
        await server.start()
        try:
            async with async_playwright() as p:
                browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
                yield f"http://127.0.0.1:{server.port}", browser
                await browser.close()
        finally:
            server.server.should_exit = True  # the view is closed by desk_site
            await server.task


@pytest_asyncio.fixture(loop_scope="module")
async def page(browser_site):
    base, browser = browser_site
    context = await browser.new_context(base_url=base, viewport={"width": 390, "height": 844})
    page = await context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: dialogs.append(d.message))
    page.dialogs = dialogs
    yield page
    await context.close()


async def test_alerts_page_lays_out_right_to_left_with_the_matched_word_marked(page):
    await page.goto("/")
    assert await page.evaluate("getComputedStyle(document.body).direction") == "rtl"
    assert await page.evaluate("document.documentElement.lang") == "ar"
    mark = page.locator("article.alert h3 mark", has_text="بوتين").first
    assert await mark.text_content() == "بوتين"
    assert await mark.evaluate("m => getComputedStyle(m).backgroundColor") != "rgba(0, 0, 0, 0)"
    # on a phone nothing runs off the side
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


async def test_the_watchlist_chart_has_one_bar_per_hour(page):
    await page.goto("/watchlists/russia-ukraine")
    bars = page.locator("section.card svg.bars rect")
    assert await bars.count() == 168
    assert await page.locator("section.card svg.bars rect.on").count() >= 1


async def test_editing_the_watchlist_in_the_try_box_shows_what_it_would_catch(page):
    await page.goto("/watchlists/russia-ukraine")
    await page.click("form.try button")
    await page.wait_for_selector("#caught")
    assert "يدعم هاريس" in await page.locator("#caught").inner_text()
    assert FOOTBALL_TITLE in await page.locator("#dropped").inner_text()
    # the desk drops the exclude rule and tries again: the football story is caught now
    text = (WATCHLISTS / "russia.yaml").read_text(encoding="utf-8").replace("exclude:\n  - كرة القدم\n", "")
    await page.fill("form.try textarea", text)
    await page.click("form.try button")
    await page.wait_for_selector("#caught")
    caught = await page.locator("#caught").inner_text()
    assert FOOTBALL_TITLE in caught and "يدعم هاريس" in caught
    assert await page.locator("#dropped").count() == 0


async def test_a_feed_title_with_a_script_tag_shows_as_text_and_runs_nothing(page):
    await page.goto("/feeds")
    title = await page.locator("td.source", has_text="hostile").locator("small.title").inner_text()
    assert title == "وكالة <script>document.title='pwned'</script>"
    await page.goto("/?source=hostile")
    heading = await page.locator("article.alert h3").first.inner_text()
    assert "<script>document.title='pwned'</script>" in heading and "<img src=x onerror=" in heading
    assert await page.evaluate("document.title") != "pwned"
    assert await page.locator("script").count() == 0 and await page.locator("article img").count() == 0
    assert page.dialogs == []
