"""The article's main text out of a fetched page: decode, clean, extract (trafilatura).

Runs in the parse worker processes (`monitor.parse_pool.ParsePool.extract`), under the
pool's deadline and kill rules: lxml and trafilatura are C and Python work on a
stranger's HTML, and a page built to be slow (nesting thousands deep, megabytes on one
line, entity tricks) may cost a worker, never the daemon's loop.

Rules, in order:
0. Not a page: a body that starts with a binary signature (PDF, PNG, GIF, JPEG, WebP,
   zip, gzip), holds a NUL byte in its first KiB, or has no "<" in its first 64 KiB
   has no article.
1. Decode by the project's rules (`monitor.decode.decode_page`: BOM, strict or mostly
   UTF-8, the page's `<meta charset>`, the HTTP charset, then a guess that never makes
   Arabic out of bytes that are not).
2. Bound before parsing: at most MAX_PAGE characters are read (the fetch caps the bytes
   already; this bounds what lxml is handed whatever the decoding made of them).
   Elements nested deeper than MAX_DEPTH are cut by lxml's own limit (libxml2's parser
   stops descending there without `huge_tree`), and trafilatura is told to give up on a
   tree of more than MAX_TREE elements.
3. Furniture trafilatura lets through, taken out of the tree first: an inline
   "read also" box (an element whose text starts with اقرأ أيضا / اقرأ أيضاً / إقرأ
   أيضا / اقرأ المزيد / طالع أيضا / شاهد أيضا / اقرأ كذلك, in any hamza or tanween
   spelling) goes with the largest container around it whose text still starts with
   the phrase and holds no more than BOX_CHARS characters (the box, not the article it
   stands in, nor a paragraph that quotes the phrase mid-sentence). Measured on
   tests/data/pages/: without this, each Al Arabiya-style `<p><strong>اقرأ أيضاً:</strong>
   <a>…</a></p>` reached the body; trafilatura itself dropped every ticker, most-read,
   related, comments and footer block of the five layouts and the aside/div read-also
   boxes.
4. trafilatura (`fast`: no second extractor as fallback; `favor_precision`; no
   comments, no tables, no links) gives the main text, one paragraph a line. Without
   `favor_precision`, a story of one short paragraph came out with the page's whole
   furniture (menus, ticker, most-read: 6 furniture-only names let through in 400 pages
   of bench/fulltext_reach.py); with it, none in 2,000, and no body-only name lost. A paragraph that still starts
   with a read-also phrase is dropped.
5. The paragraphs are joined by one blank line, spaces collapsed, at most MAX_BODY bytes
   (`monitor.parse.fit_paragraphs`). Fewer than MIN_WORDS words in all is no article
   (a page of menus and links, a paywall's teaser line): "" (the caller says "no article
   text on the page").
"""
from __future__ import annotations

import re

import lxml.html
import trafilatura
from lxml import etree
from trafilatura.settings import use_config

from ..decode import decode_page
from ..normalize import normalize_text
from ..parse import MAX_BODY, fit_paragraphs

MAX_PAGE = 4 * 2**20  # characters of a decoded page parsed
MAX_TREE = 50_000  # elements; trafilatura gives up on a larger tree
MAX_DEPTH = 256  # libxml2's own nesting limit for HTML without huge_tree
MIN_WORDS = 10  # fewer words than this extracted is no article
BOX_CHARS = 400  # a read-also box and its headlines fit in this; an article does not
_READ_ALSO = re.compile(r"^\W*(?:و?ا?(?:قرا|طالع|شاهد|تابع)\s+(?:ايضا|كذلك|المزيد)|للمزيد)(?:\W|$)")
_BINARY = (b"%PDF", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"RIFF", b"PK\x03\x04", b"\x1f\x8b")
_WORD = re.compile(r"[^\W_]+")
_CONFIG = use_config()
_CONFIG.set("DEFAULT", "MAX_TREE_SIZE", str(MAX_TREE))
_CONFIG.set("DEFAULT", "EXTRACTION_TIMEOUT", "0")  # the worker's deadline is the bound, not a signal
_CONTAINERS = {"body", "html", "article", "main"}
_BOX_TAGS = {"p", "div", "aside", "section", "span", "strong", "b", "h2", "h3", "h4", "h5", "li", "ul", "figure",
             "blockquote"}


def extract_article(body: bytes, charset: str | None, url: str = "") -> str:
    """The main text of the page `body` (HTTP `charset` if any): paragraphs one blank line
    apart, "" when there is none (see the module docstring)."""
    if not _looks_like_html(body):
        return ""
    text = decode_page(body, charset)[:MAX_PAGE]
    if not text.strip():
        return ""
    try:
        tree = lxml.html.document_fromstring(text, parser=_parser())
    except (etree.ParserError, ValueError):
        return ""
    _drop_read_also(tree)
    out = trafilatura.extract(tree, url=url or None, fast=True, favor_precision=True, include_comments=False,
                              include_tables=False, include_links=False, include_images=False,
                              config=_CONFIG) or ""
    if len(_WORD.findall(out, 0, 4096)) < MIN_WORDS:
        return ""
    return fit_paragraphs((line for line in out.splitlines() if not _is_read_also(line)), MAX_BODY)


def _looks_like_html(body: bytes) -> bool:
    head = body[:1024]
    return not head.startswith(_BINARY) and b"\x00" not in head and b"<" in body[:65536]


def is_read_also(text: str) -> bool:
    """Whether `text` starts with a "read also" phrase (see the module docstring)."""
    return _is_read_also(text)


def _is_read_also(text: str) -> bool:
    return bool(text) and _READ_ALSO.match(normalize_text(text[:80])) is not None


def _parser() -> lxml.html.HTMLParser:
    # no huge_tree: libxml2 keeps its limits on depth and on a single text node
    return lxml.html.HTMLParser(remove_comments=True, remove_pis=True, no_network=True, default_doctype=False)


def _drop_read_also(tree: lxml.html.HtmlElement) -> None:
    doomed = []
    for element in tree.iter(*_BOX_TAGS):
        lead = (element.text or "").strip()
        if not lead or not _is_read_also(lead):
            continue
        node = element
        while True:
            parent = node.getparent()
            if parent is None or parent.tag in _CONTAINERS:
                break
            text = parent.text_content()
            if len(text) > BOX_CHARS or not _is_read_also(text):
                break
            node = parent
        if node.tag in _CONTAINERS:
            continue
        doomed.append(node)
    for node in doomed:
        if node.getparent() is not None:
            node.drop_tree()  # keeps the text after it (its tail)
