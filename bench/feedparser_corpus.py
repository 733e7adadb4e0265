"""feedparser's own test feeds through Raqib's decode → parse, beside plain feedparser.

Every file under the corpus folder (default ../shared/data/feedparser-tests from the
repository root: wellformed/, illformed/, encoding/, entities/; `--dir` for another) is
read the way each would be fetched: the HTTP headers its header comment names
(`Header: Content-type: ...`) are the response headers. Then:

- plain feedparser: `feedparser.parse(bytes, response_headers=...)` with the options Raqib
  gives it (no HTML sanitiser, no URI resolution: Raqib strips HTML itself), so what
  differs is what Raqib adds: its decoding, the DOCTYPE and character-reference clean-up,
  reading items apart when feedparser fails;
- Raqib: `decode_feed(bytes, charset)` then `parse_feed(...)`.

Each is reduced to what Raqib keeps of a feed: the feed title and, per entry Raqib would
keep (one with a title, summary or link), its title and summary as plain text (the same
`html_to_text` on both sides). The outcome per file:

- same: both give the same texts (or both find no feed);
- better / worse: they differ and one of them is right: for files whose expectation names
  an encoding (`Expect: ... encoding == 'koi8-r'`) the truth is the file decoded with
  that encoding; for files whose expectation compares a title, summary, description or
  content with a string, the side whose texts hold that string (as plain text) is right;
  for the others, the `Expect:` expression is evaluated on each side (feedparser's result,
  and the one feedparser gives on Raqib's decoded and cleaned text, with `encoding` the
  encoding Raqib chose);
- differ: they differ and neither is shown right (or both are);
- crashed: Raqib raised anything but ParseError. When feedparser itself raises, Raqib
  reading the feed counts as better.

Run from the repository root:

    .venv/bin/python bench/feedparser_corpus.py [--dir DIR] [--list same|better|worse|differ|crashed]
"""
from __future__ import annotations

import argparse
import ast
import codecs
import re
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import feedparser  # noqa: E402

from monitor import decode, parse  # noqa: E402
from monitor.errors import ParseError  # noqa: E402

NOW = datetime(2025, 1, 6, 12, 0, tzinfo=UTC)
URL = "http://example.com/feed.xml"
_COMMENT = re.compile(rb"^\s*(?:<\?xml[^>]*\?>\s*)?<!--(.*?)-->", re.S)
_FIELD = re.compile(r"^\s*(Header|Expect|Description|SkipUnless):\s*(.*)$", re.M)
_ENCODING = re.compile(r"encoding\s*==\s*['\"]([^'\"]+)['\"]")


def header_comment(raw: bytes) -> dict[str, list[str]]:
    m = _COMMENT.match(raw[:4096])
    fields: dict[str, list[str]] = {}
    if m:
        for key, value in _FIELD.findall(m.group(1).decode("latin-1")):
            fields.setdefault(key, []).append(value.strip())
    return fields


def response_headers(fields: dict[str, list[str]]) -> dict[str, str]:
    headers = {"content-location": URL}
    for line in fields.get("Header", []):
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    headers.setdefault("content-type", "application/xml")
    return headers


def charset_of(headers: dict[str, str]) -> str | None:
    m = re.search(r"charset\s*=\s*[\"']?([\w.:-]+)", headers.get("content-type", ""), re.I)
    return m.group(1) if m else None


def texts_of_feedparser(result) -> tuple[str, ...] | None:
    """What Raqib would keep of a feedparser result, or None when it is not a feed."""
    entries = result.get("entries") or []
    if not result.get("version") and not entries:
        return None
    out = [parse.html_to_text((result.get("feed") or {}).get("title", ""))]
    for entry in entries:
        title = parse.html_to_text(entry.get("title", ""))
        summary = entry.get("summary") or ""
        if not summary and entry.get("content"):
            summary = entry["content"][0].get("value", "")
        summary = parse.html_to_text(summary)
        guid = (entry.get("id") or "").strip()
        link = (entry.get("link") or "").strip() or guid if re.match(r"https?://", guid) else ""
        if title or summary or (entry.get("link") or "").strip() or link:
            out += [title, summary]
    return tuple(out)


_TEXT_FIELDS = {"title", "summary", "description", "value", "subtitle"}


def text_literals(expression: str | None) -> list[str]:
    """The strings the expectation compares a text field with, as plain text."""
    if not expression:
        return []
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError:
        return []
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], ast.Eq)):
            continue
        field, literal = node.left, node.comparators[0]
        keys = {n.value for n in ast.walk(field) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
        keys |= {n.attr for n in ast.walk(field) if isinstance(n, ast.Attribute)}
        if not keys & _TEXT_FIELDS:
            continue
        try:
            value = eval(compile(ast.Expression(literal), "<expect>", "eval"), {"__builtins__": {}})  # noqa: S307
        except Exception:
            continue
        if isinstance(value, str):
            found.append(parse.html_to_text(value))
    return found


def texts_of_raqib(parsed: parse.ParsedFeed | None) -> tuple[str, ...] | None:
    if parsed is None:
        return None
    out = [parsed.title]
    for story in parsed.stories:
        out += [story.title, story.summary]
    return tuple(out)


def raqib_view(text: str):
    """The feedparser result parse_feed reads, for evaluating a file's expectation."""
    cleaned = parse._strip_doctype_subset(text)
    cleaned = parse._BAD_CHARREF.sub(parse._replace_charref, cleaned)
    return parse._feedparser(cleaned, URL)


def expect(expression: str | None, result, encoding: str | None = None) -> bool | None:
    if not expression:
        return None
    names = dict(result)
    names.setdefault("bozo", False)
    if encoding is not None:
        names["encoding"] = encoding
    try:
        return bool(eval(expression, {"feedparser": feedparser, "__builtins__": __builtins__}, names))  # noqa: S307
    except Exception:
        return False


def codec(label: str) -> str | None:
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def judge(path: Path) -> tuple[str, str]:
    raw = path.read_bytes()
    fields = header_comment(raw)
    headers = response_headers(fields)
    expression = (fields.get("Expect") or [None])[0]
    try:
        fp = feedparser.parse(raw, response_headers=headers, sanitize_html=False, resolve_relative_uris=False)
        fp_texts = texts_of_feedparser(fp)
        fp_crash = None
    except Exception as exc:
        fp, fp_texts, fp_crash = None, None, f"{type(exc).__name__}: {exc}"
    charset = charset_of(headers)
    try:
        text, how = decode._decode(raw, charset, decode._xml_declared(raw))
        text = decode._clean(text)
        try:
            parsed = parse.parse_feed("bench", text, URL, NOW)
        except ParseError:
            parsed = None
        rq_texts = texts_of_raqib(parsed)
    except Exception as exc:
        return "crashed", f"{type(exc).__name__}: {exc}"
    if fp_crash:
        return ("better" if rq_texts else "same"), f"feedparser crashed: {fp_crash}"
    if fp_texts == rq_texts:
        return "same", ""
    m = _ENCODING.search(expression or "")
    truth_codec = codec(m.group(1)) if m else None
    literals = text_literals(expression)
    if truth_codec and truth_codec not in ("ascii",):
        truth = texts_of_feedparser(feedparser.parse(
            raw.decode(truth_codec, "replace").encode("utf-8"),
            response_headers={"content-type": "application/xml; charset=utf-8"},
            sanitize_html=False, resolve_relative_uris=False))
        fp_ok, rq_ok = fp_texts == truth, rq_texts == truth
        why = f"truth: decoded as {truth_codec}; Raqib read {how}"
    elif literals:
        fp_ok = all(lit in (fp_texts or ()) for lit in literals)
        rq_ok = all(lit in (rq_texts or ()) for lit in literals)
        why = f"expected text {literals!r}; Raqib read {how}"
    else:
        fp_ok = expect(expression, fp)
        rq_encoding = "utf-8" if how in ("bom", "utf-8", "utf-8-replace") else how.rpartition(":")[2]
        rq_ok = expect(expression, raqib_view(text), rq_encoding)
        why = f"Expect: {expression}; Raqib read {how}"
    if rq_ok and not fp_ok:
        return "better", why
    if fp_ok and not rq_ok:
        return "worse", why
    return "differ", why


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", type=Path, default=None,
                    help="the corpus folder (default ../shared/data/feedparser-tests)")
    ap.add_argument("--list", action="append", default=[],
                    choices=["same", "better", "worse", "differ", "crashed"], help="print the files of this outcome")
    args = ap.parse_args()
    if args.dir is None:
        args.dir = ROOT.parent / "shared" / "data" / "feedparser-tests"
        if not args.dir.is_dir():
            print(f"(no corpus at {args.dir}; give --dir)")
            return 0
    files = sorted(p for p in args.dir.rglob("*") if p.is_file() and p.suffix in (".xml", ".rdf", ".rss", ".atom"))
    if not files:
        print(f"no feed files under {args.dir}", file=sys.stderr)
        return 1
    outcomes: Counter[str] = Counter()
    by_folder: dict[str, Counter[str]] = {}
    started = time.monotonic()
    slowest = (0.0, "")
    for path in files:
        t0 = time.monotonic()
        outcome, why = judge(path)
        elapsed = time.monotonic() - t0
        slowest = max(slowest, (elapsed, str(path.relative_to(args.dir))))
        outcomes[outcome] += 1
        by_folder.setdefault(path.relative_to(args.dir).parts[0], Counter())[outcome] += 1
        if outcome in args.list:
            print(f"{outcome:8} {path.relative_to(args.dir)}  {why}")
    seconds = time.monotonic() - started
    print(f"files tried: {len(files)} in {seconds:.1f}s (slowest {slowest[0]:.2f}s: {slowest[1]})")
    for name in ("same", "better", "worse", "differ", "crashed"):
        print(f"  {name:8} {outcomes[name]:5}")
    for folder, counts in sorted(by_folder.items()):
        print(f"  {folder:12} "
              + "  ".join(f"{k} {counts[k]}" for k in ("same", "better", "worse", "differ", "crashed")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
