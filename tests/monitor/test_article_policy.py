"""The article a feed item carries (content:encoded, Atom content → Story.body), when the
page behind an item is read (fulltext: auto | always | never), and the fulltext options."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from monitor.article import LONG_DESCRIPTION, carries_article, wants_article
from monitor.article.extract import extract_article
from monitor.config import load_config
from monitor.errors import ConfigError
from monitor.models import Story
from monitor.parse import MAX_BODY, html_to_paragraphs, parse_feed
from monitor.settings import FulltextSettings, read_settings, settings_problems

NOW = datetime(2024, 9, 5, tzinfo=UTC)

RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>وكالة</title>
<item><title>بوتين يدعم هاريس</title><link>https://news.example/1</link>
<description>أكد الرئيس الروسي دعمه للمرشحة الديمقراطية.</description>
<content:encoded><![CDATA[<p>أكد الرئيس الروسي فلاديمير بوتين دعمه.</p>
<p>وفيما يتعلق بالشأن الأوكراني، تحدث عن
الهجوم على <b>كورسك</b>.</p><div class="x"><p>والتقى بدوروف مرة واحدة.</p></div><p></p><br><br>
<p>المصدر: وكالات</p>]]></content:encoded></item>
<item><title>خبر قصير</title><link>https://news.example/2</link><description>سطر واحد.</description></item>
</channel></rss>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><id>urn:t</id><updated>2024-09-05T00:00:00Z</updated>
<entry><title>عنوان</title><id>urn:1</id><link href="https://news.example/a"/><updated>2024-09-05T00:00:00Z</updated>
<summary>ملخص قصير.</summary>
<content type="html">&lt;p&gt;الفقرة الأولى عن دوروف.&lt;/p&gt;&lt;p&gt;الفقرة الثانية عن كورسك.&lt;/p&gt;</content></entry>
<entry><title>نص</title><id>urn:2</id><link href="https://news.example/b"/><updated>2024-09-05T00:00:00Z</updated>
<content type="text">سطر أول
سطر ثان</content></entry>
<entry><title>بلا محتوى</title><id>urn:3</id><link href="https://news.example/c"/><updated>2024-09-05T00:00:00Z</updated>
<summary>ملخص.</summary></entry>
</feed>"""


def test_content_encoded_becomes_the_body_in_paragraphs():
    first, second = parse_feed("f", RSS, "https://news.example/rss", NOW).stories
    assert first.summary == "أكد الرئيس الروسي دعمه للمرشحة الديمقراطية."
    assert first.body.split("\n\n") == [
        "أكد الرئيس الروسي فلاديمير بوتين دعمه.",
        "وفيما يتعلق بالشأن الأوكراني، تحدث عن الهجوم على كورسك.",  # a line break in the source is a space
        "والتقى بدوروف مرة واحدة.",
        "المصدر: وكالات",
    ]
    assert second.body == ""


def test_atom_content_becomes_the_body():
    html, text, none = parse_feed("f", ATOM, "https://news.example/atom", NOW).stories
    assert html.summary == "ملخص قصير."
    assert html.body == "الفقرة الأولى عن دوروف.\n\nالفقرة الثانية عن كورسك."
    assert text.body == "سطر أول\n\nسطر ثان"
    assert none.body == ""


def test_the_body_is_bounded_and_cut_at_a_paragraph():
    paragraph = "كلمة " * 1000
    html = "".join(f"<p>{paragraph}</p>" for i in range(200))
    body = html_to_paragraphs(html)
    assert len(body.encode()) <= MAX_BODY
    assert all(p == paragraph.strip() for p in body.split("\n\n"))
    one = html_to_paragraphs("<p>" + "ب" * (MAX_BODY) + "</p>")
    assert 0 < len(one.encode()) <= MAX_BODY


def story(summary: str = "", body: str = "", url: str = "https://news.example/1") -> Story:
    return Story(feed="f", guid=url, url=url, title="t", summary=summary, body=body)


def test_an_item_carries_its_article_with_a_body_or_a_long_description():
    assert carries_article(story(body="نص المقال"))
    assert not carries_article(story(summary="كلمة " * (LONG_DESCRIPTION - 1)))
    assert carries_article(story(summary="كلمة " * LONG_DESCRIPTION))
    assert not carries_article(story(summary="", body="  "))


@pytest.mark.parametrize("mode, short, carried, no_link", [
    ("auto", True, False, False),
    ("always", True, True, False),
    ("never", False, False, False),
])
def test_the_feeds_fulltext_mode_decides(mode, short, carried, no_link):
    assert wants_article(story(summary="سطر"), mode) is short
    assert wants_article(story(body="نص"), mode) is carried
    assert wants_article(story(summary="سطر", url="urn:x"), mode) is no_link
    with pytest.raises(ValueError):
        wants_article(story(), "sometimes")


def write(tmp_path, text: str):
    path = tmp_path / "raqib.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_feeds_fulltext_is_read_and_checked_with_its_line(tmp_path):
    config = load_config(write(tmp_path, "feeds:\n  - name: a\n    url: https://a.example/rss\n"
                                         "  - name: b\n    url: https://b.example/rss\n    fulltext: never\n"))
    assert [f.fulltext for f in config.feeds] == [None, "never"]  # None: the fulltext.mode default
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, "feeds:\n  - name: a\n    url: https://a.example/rss\n    fulltext: yes\n"))
    assert err.value.line == 4 and "fulltext: expected one of auto, always, never" in str(err.value)


def test_the_fulltext_section_has_its_defaults_and_ranges(tmp_path):
    assert read_settings(load_config(write(tmp_path, ""))).fulltext == FulltextSettings()
    settings = read_settings(load_config(write(tmp_path, "fulltext:\n  per_host: 2\n  interval: 500ms\n"
                                                         "  max_bytes: 1MiB\n  wait: 0\n  robots: false\n")))
    assert settings.fulltext == FulltextSettings(per_host=2, interval=0.5, max_bytes=2**20, wait=0.0, robots=False)
    problems = settings_problems(load_config(write(tmp_path, "fulltext:\n  concurrency: 0\n  timeout: 0\n"
                                                             "  robots: 'no'\n  colour: red\n")))
    assert [p.line for p in problems] == [2, 3, 4, 5]
    assert "fulltext.concurrency: must be at least 1" in str(problems[0])
    assert "unknown key" in str(problems[3])


# -- hypothesis: any content, any page ----------------------------------------------------------

_TAGS = st.sampled_from(["<p>", "</p>", "<br>", "<div>", "</div>", "<b>", "</b>", "<script>", "</script>", "<!--",
                         "-->", "&amp;", "&#xD800;", "&#1604;", "<![CDATA[", "]]>", "\n", "  ", "<", ">", '"', "'",
                         "اقرأ أيضا", "كورسك", "بوتين"])
_HTML = st.lists(st.one_of(_TAGS, st.text(max_size=20)), max_size=60).map("".join)


def _well_formed(body: str, limit: int) -> None:
    assert len(body.encode("utf-8")) <= limit
    if body:
        paragraphs = body.split("\n\n")
        assert all(p and p == p.strip() and "\n" not in p for p in paragraphs)


@hsettings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_HTML, st.integers(min_value=1, max_value=400))
def test_any_content_gives_bounded_paragraphs(value, limit):
    _well_formed(html_to_paragraphs(value, limit), limit)


@hsettings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(_HTML.map(lambda s: s.encode("utf-8", "surrogatepass")), st.binary(max_size=2000)),
       st.sampled_from([None, "utf-8", "windows-1256", "iso-8859-1", "no-such-charset"]))
def test_any_page_extracts_to_bounded_paragraphs_or_nothing(body, charset):
    _well_formed(extract_article(b"<html><body>" + body, charset), MAX_BODY)
