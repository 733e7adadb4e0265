"""Build tests/data/pages/: article pages from ANT stories, wrapped in page furniture.

Each page is one ANT story (Apache-2.0; never one published 10-20 May 2018, which are
kept for evaluation) written out as an outlet's article page would be: its text as the
article's paragraphs, and around and inside it the furniture of one of five outlets'
layouts (Al Jazeera, Al Arabiya, BBC Arabic, Sky News Arabia, France 24): navigation, a
breaking-news ticker, an inline "اقرأ أيضا" box between paragraphs, most-read and
related lists, reader comments, a footer and JSON-LD. The ANT corpus has no Al Jazeera
stories: that layout wraps CNN Arabic ones.

Labels (manifest.json), decided by the project's own Matcher (variants on, so بوتن and
ترمب count as بوتين and ترامب):
- `body_only`: names of NAMES found in the article's text and not in its title or
  description (the feed item: ANT's title and abstract, which are what the outlet's RSS
  gave);
- `furniture_only`: names of NAMES found nowhere in the story, written into the
  furniture (ticker, read-also box, most-read, related, comments, footer) and nowhere else.

Stories are chosen by a seeded draw among those of 5 to 14 paragraphs with at least one
body-only name. Encodings: one Al Arabiya page is windows-1256 (declared by meta),
one Sky News page declares no charset at all, one France 24 page declares iso-8859-1 over
UTF-8 bytes. A 26th page carries shared/data/sample-story-putin-kursk-durov.txt, its
feed item the title and first paragraph alone.

Run from the repository: .venv/bin/python scripts/build_article_pages.py
"""
from __future__ import annotations

import html
import json
import random
import sys
from pathlib import Path

from monitor.match import Matcher
from monitor.models import Term, Watchlist

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from antcorpus import stories as ant_stories  # noqa: E402  (bench/: the one reader of ANT, reserved days left out)

SHARED = ROOT.parent / "shared" / "data"
ANT = SHARED / "corpora" / "antcorpus"
OUT = ROOT / "tests" / "data" / "pages"
NAMES = ["بوتين", "ترامب", "أردوغان", "نتنياهو", "الحوثي", "الأسد", "إدلب", "كورسك", "دوروف", "ماكرون",
         "ميركل", "خامنئي", "روحاني", "السيسي", "حفتر", "محمد بن سلمان", "الغوطة", "عفرين", "تيريزا ماي",
         "كيم جونغ أون"]
LAYOUTS = {"aljazeera": "cnn", "alarabiya": "alarabia", "bbc": "bbc", "skynews": "skynews", "france24": "france24"}
HOSTS = {"aljazeera": "www.aljazeera.net", "alarabiya": "www.alarabiya.net", "bbc": "www.bbc.com",
         "skynews": "www.skynewsarabia.com", "france24": "www.france24.com"}
PER_OUTLET = 5


def matcher() -> Matcher:
    return Matcher([Watchlist(name=n, title=n, terms=(Term(n, variants=" " not in n),)) for n in NAMES])


def names_in(m: Matcher, text: str) -> set[str]:
    return {hit.watchlist for hit in m.match(text)} if text else set()


def e(text: str) -> str:
    return html.escape(text, quote=True)


def furniture(names: list[str]) -> dict[str, str]:
    """Headlines for each furniture block; the furniture-only names spread over them."""
    pool = list(names)
    def pick(i: int) -> str:
        return pool[i % len(pool)]
    return {
        "ticker": f"عاجل: {pick(0)} يعلن موقفا جديدا من الأزمة",
        "ticker2": "عاجل: ارتفاع أسعار النفط في الأسواق العالمية",
        "read_also": f"{pick(1)} يلتقي وفدا رفيع المستوى في العاصمة",
        "read_also2": "تقرير: موجة حر تضرب المنطقة هذا الأسبوع",
        "most_read": [f"تصريحات {pick(2)} تثير جدلا واسعا", "أسعار الذهب تتراجع للمرة الثالثة",
                      "منتخب مصر يستعد لكأس العالم"],
        "related": [f"ماذا يريد {pick(3)} من الزيارة؟", "قراءة في نتائج القمة الأخيرة"],
        "comment": f"لا أثق في {pick(4)} ولا في وعوده، والأيام بيننا",
        "comment2": "مقال ممتاز وشكرا للكاتب",
        "footer": f"نشرتنا البريدية: أخبار {pick(5)} والعالم كل صباح",
    }


def paragraphs_html(paragraphs: list[str], box: str, after: int = 2) -> str:
    out = []
    for i, p in enumerate(paragraphs):
        out.append(f"<p>{e(p)}</p>")
        if i == after - 1:
            out.append(box)
    return "\n".join(out)


def ld_json(title: str, description: str, url: str) -> str:
    data = {"@context": "https://schema.org", "@type": "NewsArticle", "headline": title,
            "description": description, "mainEntityOfPage": url, "inLanguage": "ar"}
    return ('<script type="application/ld+json">' + json.dumps(data, ensure_ascii=False).replace("</", "<\\/")
            + "</script>")


def page(layout: str, title: str, description: str, paragraphs: list[str], url: str, f: dict,
         charset: str | None) -> str:
    meta = f'<meta charset="{charset}">' if charset else ""
    head = (f"<!DOCTYPE html>\n<html lang=\"ar\" dir=\"rtl\"><head>{meta}<title>{e(title)}</title>"
            f'<meta name="description" content="{e(description)}">'
            f'<meta property="og:title" content="{e(title)}">{ld_json(title, description, url)}'
            '<script>window.dataLayer=[];function ads(){return "إعلان";}</script>'
            '<style>.ticker{overflow:hidden}</style></head>\n<body>\n')
    nav = ('<nav class="main-nav"><ul><li><a href="/">الرئيسية</a></li><li><a href="/news">أخبار</a></li>'
           '<li><a href="/politics">سياسة</a></li><li><a href="/economy">اقتصاد</a></li>'
           '<li><a href="/sport">رياضة</a></li></ul></nav>')
    most = "".join(f'<li><a href="/news/{i}">{e(t)}</a></li>' for i, t in enumerate(f["most_read"]))
    related = "".join(f'<li><a href="/rel/{i}">{e(t)}</a></li>' for i, t in enumerate(f["related"]))
    comments = (f'<div class="comment"><span class="comment-author">أبو محمد</span><p>{e(f["comment"])}</p></div>'
                f'<div class="comment"><span class="comment-author">سارة</span><p>{e(f["comment2"])}</p></div>')
    if layout == "aljazeera":
        box = (f'<aside class="more-on"><h2 class="more-on__title">اقرأ أيضا</h2><ul><li><a href="/news/ra1">'
               f'{e(f["read_also"])}</a></li><li><a href="/news/ra2">{e(f["read_also2"])}</a></li></ul></aside>')
        body = (f'<header class="site-header">{nav}</header>'
                f'<div class="breaking-news-ticker" role="marquee"><span>عاجل</span><ul>'
                f'<li>{e(f["ticker"])}</li><li>{e(f["ticker2"])}</li></ul></div>'
                f'<main id="main-content"><article class="article-page"><header class="article-header">'
                f'<h1>{e(title)}</h1><p class="article-subhead">{e(description)}</p></header>'
                f'<div class="wysiwyg wysiwyg--all-content">{paragraphs_html(paragraphs, box)}</div></article>'
                f'<section class="most-read-container"><h2>الأكثر قراءة</h2><ol>{most}</ol></section>'
                f'<section class="related-content"><h2>مواضيع ذات صلة</h2><ul>{related}</ul></section>'
                f'<section id="comments" class="comments-section"><h2>التعليقات</h2>{comments}</section></main>'
                f'<footer class="site-footer"><p>{e(f["footer"])}</p><p>جميع الحقوق محفوظة © 2018 شبكة الجزيرة'
                f'</p></footer>')
    elif layout == "alarabiya":
        box = (f'<p class="read-also"><strong>اقرأ أيضاً:</strong> <a href="/ra">{e(f["read_also"])}</a></p>'
               f'<p class="read-also"><strong>اقرأ أيضاً:</strong> <a href="/ra2">{e(f["read_also2"])}</a></p>')
        body = (f'<div id="header">{nav}</div><div class="breaking_news"><span class="label">عاجل</span>'
                f'<marquee>{e(f["ticker"])} - {e(f["ticker2"])}</marquee></div>'
                f'<div class="article"><h1 class="headline">{e(title)}</h1><div class="article-date">'
                f'آخر تحديث: الأحد</div><div id="body-text" class="body-text">'
                f'{paragraphs_html(paragraphs, box, 3)}</div></div>'
                f'<div class="related_articles"><h3>مقالات ذات صلة</h3><ul>{related}</ul></div>'
                f'<div class="most_read"><h3>الأكثر قراءة</h3><ul>{most}</ul></div>'
                f'<div class="comments-section" id="comments"><h3>تعليقات القراء</h3>{comments}</div>'
                f'<div id="footer"><p>{e(f["footer"])}</p><p>جميع الحقوق محفوظة لقناة العربية</p></div>')
    elif layout == "bbc":
        box = (f'<div class="story-body__related-inline" data-e2e="read-also"><h2>اقرأ أيضا</h2>'
               f'<ul><li><a href="/arabic/ra">{e(f["read_also"])}</a></li>'
               f'<li><a href="/arabic/ra2">{e(f["read_also2"])}</a></li></ul></div>')
        body = (f'<header role="banner">{nav}</header><div class="bbc-breaking-news" data-e2e="breaking">'
                f'<strong>خبر عاجل</strong> <a href="/b">{e(f["ticker"])}</a></div>'
                f'<main role="main"><article><header><h1 id="content">{e(title)}</h1></header>'
                f'<div class="story-body__inner" dir="rtl">{paragraphs_html(paragraphs, box, 3)}</div>'
                f'</article><section data-e2e="related-content-heading" class="related"><h2>موضوعات ذات صلة</h2>'
                f'<ul>{related}</ul></section><section data-e2e="most-read" class="most-read"><h2>الأكثر قراءة'
                f'</h2><ol>{most}</ol></section></main><section class="comments">{comments}</section>'
                f'<footer role="contentinfo"><p>{e(f["footer"])}</p><p>© 2018 بي بي سي.</p></footer>')
    elif layout == "skynews":
        box = (f'<div class="inline-read-more"><span class="title">اقرأ أيضا</span>'
               f'<a href="/ra">{e(f["read_also"])}</a></div>')
        body = (f'<div class="header">{nav}</div><div class="breaking-news-bar"><span>عاجل</span>'
                f'<a href="/b1">{e(f["ticker"])}</a><a href="/b2">{e(f["ticker2"])}</a></div>'
                f'<div class="article-container"><h1 class="article-title">{e(title)}</h1>'
                f'<div class="article-body">{paragraphs_html(paragraphs, box, 2)}</div></div>'
                f'<div class="most-popular"><h3>الأكثر مشاهدة</h3><ul>{most}</ul></div>'
                f'<div class="related-topics"><h3>أخبار ذات صلة</h3><ul>{related}</ul></div>'
                f'<div id="disqus_thread" class="comments">{comments}</div>'
                f'<div class="footer"><p>{e(f["footer"])}</p><p>سكاي نيوز عربية © 2018</p></div>')
    else:  # france24
        box = (f'<div class="m-em-related"><p class="m-em-related__title">اقرأ أيضا</p>'
               f'<a href="/ar/ra">{e(f["read_also"])}</a></div>')
        body = (f'<header class="o-header">{nav}</header><div class="m-breaking-news"><span>عاجل</span>'
                f'<p>{e(f["ticker"])}</p></div>'
                f'<article class="t-content"><h1 class="t-content__title">{e(title)}</h1>'
                f'<p class="t-content__chapo">{e(description)}</p>'
                f'<div class="t-content__body">{paragraphs_html(paragraphs, box, 2)}</div></article>'
                f'<section class="m-related-articles"><h2>مواضيع ذات صلة</h2><ul>{related}</ul></section>'
                f'<section class="m-most-read"><h2>الأكثر قراءة</h2><ol>{most}</ol></section>'
                f'<div class="o-comments">{comments}</div>'
                f'<footer class="o-footer"><p>{e(f["footer"])}</p><p>فرانس 24 © 2018</p></footer>')
    return head + body + "\n</body></html>\n"


def candidates(m: Matcher, src: str) -> list[dict]:
    out = []
    for story in ant_stories(ANT / f"{src}.jsonl.gz"):
        paragraphs = [p.strip() for p in story["text"].split("\n") if p.strip()]
        if not 5 <= len(paragraphs) <= 14 or not story["abstract"].strip():
            continue
        feed = names_in(m, story["title"]) | names_in(m, story["abstract"])
        text = names_in(m, "\n".join(paragraphs))
        if text - feed:
            out.append({**story, "paragraphs": paragraphs, "feed_names": feed, "text_names": text})
    return out


def main() -> None:
    m = matcher()
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*.html"):
        old.unlink()
    rng = random.Random(20)
    manifest = []
    for layout, src in LAYOUTS.items():
        pool = candidates(m, src)
        for n, story in enumerate(rng.sample(pool, PER_OUTLET)):
            absent = [x for x in NAMES if x not in story["text_names"] | story["feed_names"]]
            chosen = rng.sample(absent, 4)
            f = furniture(chosen)
            charset: str | None = "utf-8"
            encoding = "utf-8"
            if layout == "alarabiya" and n == 0:
                charset, encoding = "windows-1256", "cp1256"
            elif layout == "skynews" and n == 0:
                charset = None
            elif layout == "france24" and n == 0:
                charset = "iso-8859-1"  # wrong: the bytes are UTF-8
            url = f"https://{HOSTS[layout]}/news/{story['docno']}"
            text = page(layout, story["title"], story["abstract"], story["paragraphs"], url, f, charset)
            name = f"{layout}-{n + 1}.html"
            (OUT / name).write_bytes(text.encode(encoding, "replace" if encoding != "utf-8" else "strict"))
            whole = names_in(m, text)
            furniture_only = sorted(x for x in chosen if x in whole)
            manifest.append({
                "file": name, "layout": layout, "url": url, "charset": charset, "encoding": encoding,
                "title": story["title"], "description": story["abstract"],
                "body_only": sorted(story["text_names"] - story["feed_names"]),
                "furniture_only": furniture_only,
                "source": {"corpus": "ANT v2.1", "docno": story["docno"], "published": story["time"]},
            })
    sample = (SHARED / "sample-story-putin-kursk-durov.txt").read_text(encoding="utf-8").splitlines()
    title, paragraphs = sample[0].strip(), [p.strip() for p in sample[1:] if p.strip()]
    description = paragraphs[0]
    feed = names_in(m, title) | names_in(m, description)
    text_names = names_in(m, "\n".join(paragraphs))
    absent = [x for x in NAMES if x not in text_names | feed]
    chosen = rng.sample(absent, 4)
    url = "https://www.aljazeera.net/news/sample-putin-kursk-durov"
    text = page("aljazeera", title, description, paragraphs, url, furniture(chosen), "utf-8")
    (OUT / "sample-putin-kursk-durov.html").write_text(text, encoding="utf-8")
    manifest.append({
        "file": "sample-putin-kursk-durov.html", "layout": "aljazeera", "url": url, "charset": "utf-8",
        "encoding": "utf-8", "title": title, "description": description,
        "body_only": sorted(text_names - feed), "furniture_only": sorted(chosen),
        "source": {"corpus": "the project's sample story (shared/data/sample-story-putin-kursk-durov.txt)"},
    })
    (OUT / "manifest.json").write_text(json.dumps({"names": NAMES, "pages": manifest}, ensure_ascii=False,
                                                  indent=1) + "\n", encoding="utf-8")
    print(f"{len(manifest)} pages written to {OUT}")


if __name__ == "__main__":
    main()
