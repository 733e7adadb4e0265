"""OPML import and export: real-world shapes, hostile documents, exact round trips."""
from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from monitor.errors import ConfigError
from monitor.opml import export_opml, parse_opml

OPML = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0">
  <head><title>صحف</title></head>
  <body>
    <outline text="أخبار" title="أخبار">
      <outline type="rss" text="الجزيرة نت" xmlUrl="https://www.aljazeera.net/aljazeerarss/a7c186be-1baa-4bd4-9d80-a84db769f779/73d0e1b4-532f-45ef-b135-bfdff8b8cab9"/>
      <outline type="rss" title="BBC Arabic" text="ignored" xmlUrl="http://feeds.bbci.co.uk/arabic/rss.xml"/>
      <outline type="rss" xmlurl="https://www.france24.com/ar/rss"/>
      <outline type="rss" text="الجزيرة نت" xmlUrl="https://www.aljazeera.net/other"/>
      <outline type="rss" text="dup" xmlUrl="http://feeds.bbci.co.uk/arabic/rss.xml"/>
    </outline>
    <outline text="no feed here" htmlUrl="https://example.org"/>
  </body>
</opml>"""


def test_nested_outlines_names_and_duplicates():
    assert parse_opml(OPML.encode(), "feeds.opml") == [
        ("الجزيرة نت", "https://www.aljazeera.net/aljazeerarss/a7c186be-1baa-4bd4-9d80-a84db769f779/73d0e1b4-532f-45ef-b135-bfdff8b8cab9"),
        ("BBC Arabic", "http://feeds.bbci.co.uk/arabic/rss.xml"),
        ("www.france24.com", "https://www.france24.com/ar/rss"),
        ("الجزيرة نت-2", "https://www.aljazeera.net/other"),
    ]


def test_str_input_ignores_declared_encoding():
    text = OPML.replace("UTF-8", "windows-1256")
    assert parse_opml(text)[0][0] == "الجزيرة نت"


def test_cp1256_bytes_with_declaration():
    data = OPML.replace("UTF-8", "windows-1256").encode("cp1256")
    assert parse_opml(data)[0][0] == "الجزيرة نت"


@pytest.mark.parametrize("doc,line,words", [
    ("<opml><body><outline xmlUrl='http://e.org'></body></opml>", 1, "not well-formed"),
    ("<?xml version='1.0'?>\n<rss/>", 2, "not an OPML"),
    ("<opml>\n<body>\n<outline xmlUrl='file:///etc/passwd'/></body></opml>", 3, "http(s)"),
    ("<opml><body><outline xmlUrl='javascript:alert(1)'/></body></opml>", 1, "http(s)"),
    ('<?xml version="1.0"?>\n<!DOCTYPE opml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>\n'
     '<opml><body><outline text="&b;" xmlUrl="http://e.org"/></body></opml>', 2, "DOCTYPE"),
    ('<?xml version="1.0"?>\n<!DOCTYPE opml SYSTEM "http://127.0.0.1:9/x.dtd">\n<opml/>', 2, "DOCTYPE"),
])
def test_bad_opml_names_file_and_line(doc, line, words):
    with pytest.raises(ConfigError) as err:
        parse_opml(doc, "my.opml")
    assert err.value.file == "my.opml" and err.value.line == line
    assert words in str(err.value) and str(err.value).startswith(f"my.opml:{line}: ")


def test_empty_input_is_an_error():
    with pytest.raises(ConfigError):
        parse_opml(b"", "empty.opml")


def test_no_feeds_is_an_empty_list():
    assert parse_opml("<opml version='2.0'><head/><body/></opml>") == []


def test_export_is_valid_opml_with_escaping():
    text = export_opml([("أخبار & تحليل", "https://e.org/rss?a=1&b=<2>")], title="قائمة")
    assert text.startswith('<?xml version="1.0" encoding="utf-8"?>')
    assert "<title>قائمة</title>" in text
    assert parse_opml(text) == [("أخبار & تحليل", "https://e.org/rss?a=1&b=<2>")]


names = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x6FF,
                                       exclude_categories=("Cs", "Zs", "Cc")), min_size=1, max_size=30)
urls = st.builds(lambda host, path: f"https://{host}.example/{path}",
                 st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True),
                 st.text(alphabet="abcxyz0123456789-_/?=&%.~", max_size=30))


@given(st.lists(st.tuples(names, urls), max_size=15, unique_by=(lambda t: t[0], lambda t: t[1])))
def test_round_trip(feeds):
    assert parse_opml(export_opml(feeds)) == feeds
