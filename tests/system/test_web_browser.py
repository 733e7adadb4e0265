"""The web view in a real headless Chromium (Debian's `chromium`, driven by Playwright;
no browser is downloaded): what a person sees, not just what the server sends.

Without /usr/bin/chromium these tests skip with the reason, unless RAQIB_REQUIRE_BROWSER=1
(set by .ci/run, which installs the package), where a missing browser fails them."""
from __future__ import annotations

import os
import shutil

import pytest
import pytest_asyncio
from playwright.async_api import async_playwright

from raqib.web import Desk, WebServer, WebView
from tests.raqib.test_web_live import RUSSIA, SKRIPAL_WATCHLIST, fill, fill_event
from tests.support.inprocess import WATCHLISTS
from tests.support.web_site import FOOTBALL_TITLE, desk_site

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


# -- a live desk (the first day's fixes) ---------------------------------------------------------

BROKEN_WORDS = """() => {
  // every word of every cell must sit on one line: a word whose letters span two line boxes
  // was broken inside ("يعم/ل", "france24-/ar")
  const broken = [];
  for (const cell of document.querySelectorAll("table td, table th")) {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const re = /\\S+/g;
      let m;
      while ((m = re.exec(node.data))) {
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        const tops = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
        if (tops.size > 1) broken.push(m[0]);
      }
    }
  }
  return broken;
}"""


async def test_the_feeds_table_never_breaks_a_word_inside(page):
    for width in (390, 1100):
        await page.set_viewport_size({"width": width, "height": 900})
        await page.goto("/feeds")
        assert await page.locator("table.feeds td").count() > 0
        assert await page.evaluate(BROKEN_WORDS) == [], width
    await page.set_viewport_size({"width": 390, "height": 844})


async def test_the_watchlist_chart_has_labelled_axes(page):
    await page.goto("/watchlists/russia-ukraine")
    chart = page.locator("section.card svg.bars")
    texts = [t.strip() for t in await chart.locator("text").all_text_contents()]
    assert texts[0] == "التنبيهات" and texts[-1] == "الوقت (UTC)"
    assert "0" in texts and any(t.isdigit() and int(t) >= 1 for t in texts)  # the count axis: 0 and the peak
    assert sum(1 for t in texts if len(t) == 10 and t[4] == "-") >= 7  # one dated tick a day
    frame = await chart.bounding_box()
    assert frame is not None
    for label in await chart.locator("text").all():  # every label is drawn whole, inside the chart
        box = await label.bounding_box()
        assert box is not None and box["width"] > 0
        assert frame["x"] - 1 <= box["x"] and box["x"] + box["width"] <= frame["x"] + frame["width"] + 1, (
            await label.text_content(), box, frame)


async def test_the_story_timeline_runs_right_to_left_in_arabic(page):
    await page.goto("/")
    await page.locator("article.alert", has_text="يدعم هاريس").locator("p.more a").first.click()
    await page.wait_for_selector("svg.timeline")
    dots = page.locator("svg.timeline circle")
    assert await dots.count() == 2  # the agency's copy first, then the paper's
    first, last = await dots.nth(0).bounding_box(), await dots.nth(1).bounding_box()
    assert first is not None and last is not None and first["x"] > last["x"]  # the first copy on the right
    title = page.locator("svg.timeline text.axis-title")
    axis = await title.text_content() or ""
    assert axis.startswith("الوقت ← بعد أول نشر")
    frame, box = await page.locator("svg.timeline").bounding_box(), await title.bounding_box()
    assert frame is not None and box is not None
    assert frame["x"] - 1 <= box["x"] and box["x"] + box["width"] <= frame["x"] + frame["width"] + 1
    await page.goto(page.url + "?lang=en")
    first, last = await dots.nth(0).bounding_box(), await dots.nth(1).bounding_box()
    assert first is not None and last is not None and first["x"] < last["x"]
    await page.goto("/?lang=ar")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def live_site(tmp_path_factory, browser_site):
    """A desk with 60 alerts (paging) and one event told by two outlets (related coverage)."""
    folder = tmp_path_factory.mktemp("live")
    fill(folder / "raqib.db", 60)
    ids = fill_event(folder / "raqib.db")
    view = WebView(Desk(database=folder / "raqib.db", watchlists=lambda: [RUSSIA, SKRIPAL_WATCHLIST],
                        tz="Asia/Riyadh"))
    server = WebServer(view, "127.0.0.1:0")
    await server.start()
    try:
        yield f"http://127.0.0.1:{server.port}", ids
    finally:
        await server.stop()


async def test_paging_to_older_alerts_in_the_browser(page, live_site):
    base, _ = live_site
    await page.goto(base + "/?watchlist=russia")
    assert await page.locator("article.alert").count() == 50
    await page.get_by_role("link", name="أقدم").click()
    await page.wait_for_load_state()
    assert await page.locator("article.alert").count() == 10
    assert await page.get_by_role("link", name="أقدم").count() == 0
    assert "before=" in page.url


async def test_the_story_page_lists_the_events_related_coverage_in_the_browser(page, live_site):
    base, ids = live_site
    await page.goto(f"{base}/story/{ids['france24']}")
    heading = page.locator("h2", has_text="تغطية ذات صلة")
    assert await heading.is_visible()
    row = page.locator("table.related tr").first
    cells = [c.strip() for c in await row.locator("td").all_inner_texts()]
    assert cells[0] == "cnn" and cells[1].startswith("2018-03-14 ") and "تطرد 23 دبلوماسيا" in cells[2]
    await row.locator("a").first.click()
    await page.wait_for_load_state()
    assert page.url.endswith(f"/story/{ids['CNN']}")
