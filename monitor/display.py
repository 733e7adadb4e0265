"""Text from outside (feeds, servers, chat members) made safe to show people.

Rules:
- `visible(text)` removes what changes how the text around it is displayed without
  being seen itself: bidi embeddings and overrides (U+202A–U+202E), isolates
  (U+2066–U+2069), the marks U+200E, U+200F and U+061C, the deprecated format controls
  (U+206A–U+206F), zero-width and invisible characters (U+200B, U+2060–U+2064, U+FEFF,
  U+FFF9–U+FFFB), control characters (C0 but tab and line feed, DEL, C1; a carriage
  return becomes a space) and lone surrogates. The zero-width joiners U+200C and U+200D
  stay: Persian words and emoji sequences need them. Renderers apply it to untrusted
  text only (titles, summaries, sources, reasons, what a chat typed), so the marks they
  add on purpose — an RLM at the start of a line — survive.
- `one_line(text, limit)` is `visible` with every run of whitespace made one space, and
  cut to at most `limit` characters (the last one an ellipsis): reasons, names, anything
  shown on one line or echoed back.
- A failure reason (an HTTP reason phrase, an error a server sent) is shown as
  `one_line(reason, REASON_MAX)`, where it is produced and again where it is rendered.
- `display_url(url)` percent-encodes those characters and whitespace inside a link, so
  it still leads to the same place but cannot reorder or break the line it stands in.

All three run in time linear in the text (`str.translate`, `str.split`).
"""
from __future__ import annotations

ELLIPSIS = "…"
REASON_MAX = 200  # characters of a failure reason shown to people (feed health, /feeds)

_FORMAT = [
    *range(0x202A, 0x202F),  # bidi embeddings and overrides: LRE RLE PDF LRO RLO
    *range(0x2066, 0x206A),  # bidi isolates: LRI RLI FSI PDI
    0x200E, 0x200F, 0x061C,  # LRM, RLM, ARABIC LETTER MARK
    *range(0x206A, 0x2070),  # deprecated format controls (symmetric swapping, digit shapes)
    0x200B, *range(0x2060, 0x2065), 0xFEFF,  # zero width space, word joiner, invisible operators, BOM
    *range(0xFFF9, 0xFFFC),  # interlinear annotation
]
_CONTROLS = [c for c in (*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)) if c not in (0x09, 0x0A, 0x0D)]
_SURROGATES = range(0xD800, 0xE000)

_VISIBLE: dict[int, str | None] = {c: None for c in (*_FORMAT, *_CONTROLS, *_SURROGATES)}
_VISIBLE[0x0D] = " "

_URL: dict[int, str | None] = {c: "".join(f"%{b:02X}" for b in chr(c).encode("utf-8")) for c in (*_FORMAT, *_CONTROLS)}
_URL.update({c: None for c in _SURROGATES})
for _space in (0x09, 0x0A, 0x0D, 0x20, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x2028, 0x2029, 0x202F,
               0x205F, 0x3000):
    _URL[_space] = "".join(f"%{b:02X}" for b in chr(_space).encode("utf-8"))


def visible(text: str) -> str:
    """`text` without bidi controls, invisible format characters and control characters."""
    return (text or "").translate(_VISIBLE)


def one_line(text: str, limit: int | None = None) -> str:
    """`visible(text)` on one line (whitespace runs → one space), at most `limit` characters."""
    flat = " ".join(visible(text).split())
    if limit is not None and len(flat) > limit:
        flat = flat[: max(limit - 1, 0)].rstrip() + ELLIPSIS
    return flat


def display_url(url: str) -> str:
    """`url` with bidi/invisible/control characters and whitespace percent-encoded."""
    return (url or "").strip().translate(_URL)


__all__ = ["visible", "one_line", "display_url", "ELLIPSIS", "REASON_MAX"]
