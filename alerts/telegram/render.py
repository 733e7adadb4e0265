"""Alerts and digests as Telegram HTML, and HTML cut to Telegram's message size.

Rules:
- Every piece of feed text goes through `monitor.display.visible` (bidi overrides,
  isolates and invisible controls removed: a title cannot display as something else) and
  `html.escape`; only http(s) links become anchors (`alerts.render.safe_url`). An alert
  reads: watchlist (a chat's own terms: «كلماتي» or "My terms", in the chat's language),
  title (matched words in bold, linked), outlet · time (the outlet by its name, the
  time in the chat's zone: `alerts.render.when`), then under the title what
  `alerts.render.under_title` chooses for `LEAD_CHARS`: the lead whole with the names in
  bold, or in place of a cut lead the sentence around each name (`monitor.snippet`: cut
  at word boundaries, the name in bold, tags balanced), then the matched terms each with
  where it was found («كورسك (في نص الخبر، الفقرة 7)»). Lines that would start with a left-to-right character begin with
  U+200F (RIGHT-TO-LEFT MARK) so Arabic reads right to left in every client; that mark is
  the renderer's own, added after cleaning.
- A related story (another outlet's own words on an event already alerted) sent as a
  reply reads: "🔗 تغطية ذات صلة" and its outlet, its own title (linked), its time. Related
  stories folded into the first alert by an edit are listed under the same heading, one
  line each (outlet: linked title), at most `RELATED_LINES`, then "+N".
- A digest is grouped by watchlist, then by event, then one entry per story cluster
  (`alerts.render.group_alerts`, as e-mail and Apprise group theirs): an event's first
  cluster is a bullet, its other clusters (related coverage) are indented under it.
- A message longer than 4,096 UTF-16 code units of visible text (Telegram counts after
  entity parsing, in UTF-16) is split: at a line break where possible, else at a space,
  never inside a tag or an entity; open tags are closed and reopened across the cut. A
  run longer than half a message (a giant word, thousands of spaces) is cut inside, so
  every cut moves forward and splitting takes time linear in the text.
"""
from __future__ import annotations

import functools
import html
import re
from collections.abc import Sequence

from monitor.display import visible
from monitor.models import Alert

from ..plurals import count
from ..render import (
    bounded,
    group_alerts,
    heading,
    highlight,
    lead,
    marked,
    outlet,
    outlets,
    places,
    safe_url,
    under_title,
    when,
)
from .texts import LABELS

MAX_UNITS = 4096
LEAD_CHARS = 280
RELATED_LINES = 10
RLM = "\u200f"
_ARABIC = re.compile(r"[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]")
_STRONG_LTR = re.compile(r"[A-Za-z0-9\u00c0-\u024f]")


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _esc(text: str) -> str:
    """Untrusted text for HTML: bidi overrides and invisible controls removed, then escaped."""
    return html.escape(visible(text), quote=False)


def _bold(text: str, alert: Alert, field: str) -> str:
    return highlight(text, alert.matches, field, open_="<b>", close="</b>", escape=_esc)


def rtl(lines: Sequence[str]) -> str:
    """Join lines; a line whose first strong character is left-to-right gets an RLM."""
    if not any(_ARABIC.search(line) for line in lines):
        return "\n".join(lines)
    out = []
    for line in lines:
        plain = _TAG.sub("", line)
        first = next((ch for ch in plain if _ARABIC.match(ch) or _STRONG_LTR.match(ch)), "")
        out.append(RLM + line if first and not _ARABIC.match(first) else line)
    return "\n".join(out)


def _linked_title(alert: Alert, limit: int = 0) -> str:
    text = " ".join(alert.title.split())
    short = lead(text, limit) if limit else text
    entry = _bold(text, alert, "title") if short == text == alert.title else _esc(short)
    url = safe_url(alert.url)
    return f'<a href="{html.escape(url, quote=True)}">{entry}</a>' if url else entry


def render_related(alert: Alert, *, lang: str = "ar", also: Sequence[str] = ()) -> str:
    """A related story sent as a reply to its event's first alert: heading and outlet,
    its own title and link, its time (and the other outlets of its text, once edited)."""
    L = LABELS.get(lang, LABELS["ar"])
    head = "🔗 <b>" + _esc(L["related"]) + "</b>"
    if alert.source:
        head += " · " + _esc(outlet(alert))
    lines = [head, _linked_title(alert)]
    if when(alert):
        lines.append(f"<i>{_esc(when(alert))}</i>")
    others = [s for s in also if s and s != alert.source]
    if others:
        lines.append(_esc(L["also"] + "، ".join(outlets(alert, others))))
    return rtl(lines)


def render_alert(alert: Alert, *, lang: str = "ar", also: Sequence[str] = (),
                 related: Sequence[Alert] = ()) -> str:
    """One alert as Telegram HTML; `also` the other outlets of its text, `related` the
    related stories folded into it."""
    L = LABELS.get(lang, LABELS["ar"])
    if alert.related == "reply":
        return render_related(alert, lang=lang, also=also)
    alert = bounded(alert)
    title = " ".join(alert.title.split()) if "\n" in alert.title else alert.title
    title_html = _bold(title, alert, "title") if title == alert.title else _esc(title)
    url = safe_url(alert.url)
    if url:
        title_html = f'<a href="{html.escape(url, quote=True)}">{title_html}</a>'
    head = "⚠️ " + _esc(alert.watchlist_title or alert.watchlist) if alert.kind == "health" \
        else "📌 " + _esc(heading(alert, lang))
    lines = [head, f"<b>{title_html}</b>" if not url else title_html]
    meta = " · ".join(_esc(m) for m in (outlet(alert), when(alert)) if m)
    if meta:
        lines.append(f"<i>{meta}</i>")
    if alert.kind == "spread" and alert.sources:
        lines.append(_esc(L["spread"].format(count=count(len(alert.sources), "outlet", lang))
                          + "، ".join(outlets(alert, alert.sources))))
    others = [s for s in also if s and s != alert.source]
    if others:
        lines.append(_esc(L["also"] + "، ".join(outlets(alert, others))))
    shown, snips = under_title(alert.summary, alert.snippets, LEAD_CHARS)
    if shown == "whole":
        lines += ["", _bold(alert.summary, alert, "summary")]
    elif shown:  # offsets refer to the whole summary: a cut lead is escaped plainly
        lines += ["", _esc(lead(alert.summary, LEAD_CHARS))]
    for sn in snips:
        lines += ["", marked(sn, open_="<b>", close="</b>", escape=_esc)]
    if alert.matches and alert.kind != "health":
        sep = ", " if lang == "en" else "، "
        lines.append(_esc(L["terms"]) + sep.join(f"<b>{_esc(t)}</b> ({_esc(at)})" for t, at in places(alert, lang)))
    if related:
        lines += ["", "🔗 <b>" + _esc(L["related"]) + "</b>"]
        for other in related[-RELATED_LINES:]:
            source = _esc(outlet(other)) + ": " if other.source else ""
            lines.append("• " + source + _linked_title(other, 160))
        if len(related) > RELATED_LINES:
            lines.append(f"+{len(related) - RELATED_LINES}")
    return rtl(lines)


def render_digest(alerts: Sequence[Alert], *, lang: str = "ar") -> str:
    """Several alerts as one message: by watchlist, then by event, one entry per story
    cluster (an event's later clusters indented under its first)."""
    L = LABELS.get(lang, LABELS["ar"])
    lines = [f"<b>{_esc(L['digest'].format(count=count(len(alerts), 'alert', lang)))}</b>"]
    for (_name, title), events in group_alerts(alerts):
        lines += ["", f"📌 <b>{_esc(title)}</b> ({sum(len(clusters) for clusters in events)})"]
        for clusters in events:
            for i, members in enumerate(clusters):
                named: list[str] = []
                for a in members:
                    for s in (a.source, *a.sources):
                        if s and outlet(a, s) not in named:
                            named.append(outlet(a, s))
                tail = " — " + _esc("، ".join(named[:3])) if named else ""
                if len(named) > 3:
                    tail += f" +{len(named) - 3}"
                lines.append(("• " if i == 0 else "   ↳ ") + _linked_title(members[0], 160) + tail)
    return rtl(lines)


# a tag never holds "<": a stray "<" is text, and scanning for ">" stops at the next "<"
# (so thousands of stray "<" cost linear time, not quadratic)
_TAG = re.compile(r"<[^<>]*>")
_TOKENS = re.compile(r"<[^<>]*>|&#?\w{1,32};|\n|[^\S\n]+|[^\s<&]+|[<&]")


def split_html(text: str, limit: int = MAX_UNITS) -> list[str]:
    """Cut HTML into parts of at most `limit` visible UTF-16 units, never inside a tag or
    an entity; prefer line breaks, then spaces; tags open at a cut are closed and reopened.

    Every text run longer than half the limit (a giant word, a run of thousands of
    spaces) is first cut into pieces that fit, so each cut moves forward and the whole
    split takes time linear in the text. A stray `<` or `&` is sent escaped."""
    if limit < 2:
        raise ValueError("split_html: the limit must leave room for one character (2 UTF-16 units)")
    if utf16_len(html.unescape(_TAG.sub("", text))) <= limit:
        return [text]
    piece = max(2, limit // 2)
    tokens: list[tuple[str, int]] = []  # (token, visible units)
    for tok in _TOKENS.findall(text):
        if tok == "<":
            tokens.append(("&lt;", 1))
        elif tok == "&":
            tokens.append(("&amp;", 1))
        elif tok.startswith("<"):
            tokens.append((tok, 0))
        elif tok.startswith("&"):
            tokens.append((tok, _entity_units(tok)))
        else:
            units = utf16_len(tok)
            if units > piece:  # a giant word or whitespace run: cut by code points
                tokens.extend(_hard_pieces(tok, piece))
            else:
                tokens.append((tok, units))
    parts: list[str] = []
    stack: list[str] = []  # open tags at the start of the current part
    cur: list[tuple[str, int]] = []
    size = 0
    i = 0
    while i < len(tokens):
        tok, n = tokens[i]
        if size + n <= limit or not cur:
            cur.append((tok, n))
            size += n
            i += 1
            continue
        # overflow: cut at the last line break past half, else the last space, else here;
        # every token fits in an empty part, so the part cut off always holds some text
        head, cur = _cut(cur, limit)
        opened = _open_after(stack, head)
        parts.append("".join(stack) + "".join(t for t, _ in head) + "".join(_close(t) for t in reversed(opened)))
        stack = opened
        size = sum(n for _, n in cur)
    opened_text = "".join(stack) + "".join(t for t, _ in cur) + \
        "".join(_close(t) for t in reversed(_open_after(stack, cur)))
    if opened_text.strip():
        parts.append(opened_text)
    return [p.strip("\n") or p for p in parts if _TAG.sub("", p).strip()]


@functools.lru_cache(maxsize=1024)
def _entity_units(entity: str) -> int:
    return utf16_len(html.unescape(entity))


def _hard_pieces(tok: str, size: int) -> list[tuple[str, int]]:
    """`tok` in slices of at most `size` UTF-16 units (size ≥ 2), never inside a character."""
    out = []
    j = 0
    while j < len(tok):
        end = j + size
        chunk = tok[j:end]
        units = utf16_len(chunk)
        while units > size:  # astral characters count twice: give back half the excess
            end -= max(1, (units - size) // 2)
            chunk = tok[j:end]
            units = utf16_len(chunk)
        out.append((chunk, units))
        j = end
    return out


def _cut(cur: list[tuple[str, int]], limit: int) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """(the part to send, what carries over): cut at the last line break past half the
    limit, else the last space past half, else after everything; the break itself is
    dropped, tags opened just before the cut move to the next part and tags closed just
    after it stay in this one."""
    total, best_line, best_space = 0, -1, -1
    for idx, (tok, n) in enumerate(cur):
        if idx > 0 and total >= limit // 2:
            if tok == "\n":
                best_line = idx
            elif n and tok.isspace():
                best_space = idx
        total += n
    at = best_line if best_line > 0 else best_space
    head, rest = (cur[:at], cur[at + 1:]) if at > 0 else (cur, [])
    while rest and rest[0][0].startswith("</"):
        head, rest = head + [rest[0]], rest[1:]
    k = len(head)
    while k and head[k - 1][0].startswith("<") and not head[k - 1][0].startswith("</"):
        k -= 1
    if any(n for _, n in head[:k]):
        head, rest = head[:k], head[k:] + rest
    return head, rest


def _open_after(stack: list[str], tokens: list[tuple[str, int]]) -> list[str]:
    opened = list(stack)
    for tok, _ in tokens:
        if tok.startswith("</"):
            name = _tag_name(tok)
            for j in range(len(opened) - 1, -1, -1):
                if _tag_name(opened[j]) == name:
                    del opened[j]
                    break
        elif tok.startswith("<") and not tok.endswith("/>"):
            opened.append(tok)
    return opened


@functools.lru_cache(maxsize=1024)
def _tag_name(tok: str) -> str:
    m = re.match(r"</?\s*([A-Za-z0-9-]+)", tok)
    return m.group(1).lower() if m else ""


def _close(tok: str) -> str:
    return f"</{_tag_name(tok)}>"

