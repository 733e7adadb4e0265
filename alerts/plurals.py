"""Counts in words, by the language's plural rules: Arabic has six forms (zero, one, two,
few, many, other) and English two (one, other).

The form of a number comes from CLDR's plural rules through Babel (`Locale.plural_form`),
never from hand-written cases: 0 → zero, 1 → one, 2 → two, 3-10 → few, 11-99 → many,
100-102 → other, 103-110 → few again, and so on. Each noun lists its six Arabic forms
and its two English ones; `{n}` is the number (Arabic counts read "تنبيه واحد",
"تنبيهان", "3 تنبيهات", "11 تنبيهاً", "100 تنبيه"). The bot, e-mail and the web view
say every count through `count`.
"""
from __future__ import annotations

from functools import lru_cache

from babel import Locale

NOUNS: dict[str, dict[str, dict[str, str]]] = {
    "alert": {
        "ar": {"zero": "لا تنبيهات", "one": "تنبيه واحد", "two": "تنبيهان", "few": "{n} تنبيهات",
               "many": "{n} تنبيهاً", "other": "{n} تنبيه"},
        "en": {"one": "{n} alert", "other": "{n} alerts"}},
    "watchlist": {
        "ar": {"zero": "لا قوائم", "one": "قائمة واحدة", "two": "قائمتان", "few": "{n} قوائم",
               "many": "{n} قائمة", "other": "{n} قائمة"},
        "en": {"one": "{n} watchlist", "other": "{n} watchlists"}},
    "watchlist-object": {  # after a verb ("تتابع قائمتين"): the dual in the accusative
        "ar": {"zero": "لا قوائم", "one": "قائمة واحدة", "two": "قائمتين", "few": "{n} قوائم",
               "many": "{n} قائمة", "other": "{n} قائمة"},
        "en": {"one": "{n} watchlist", "other": "{n} watchlists"}},
    "outlet": {
        "ar": {"zero": "لا مصادر", "one": "مصدر واحد", "two": "مصدران", "few": "{n} مصادر",
               "many": "{n} مصدراً", "other": "{n} مصدر"},
        "en": {"one": "{n} outlet", "other": "{n} outlets"}},
    "feed": {
        "ar": {"zero": "لا مصادر", "one": "مصدر واحد", "two": "مصدران", "few": "{n} مصادر",
               "many": "{n} مصدراً", "other": "{n} مصدر"},
        "en": {"one": "{n} feed", "other": "{n} feeds"}},
    "report": {
        "ar": {"zero": "لا بلاغات", "one": "بلاغ واحد", "two": "بلاغان", "few": "{n} بلاغات",
               "many": "{n} بلاغاً", "other": "{n} بلاغ"},
        "en": {"one": "{n} report", "other": "{n} reports"}},
}


@lru_cache(maxsize=8)
def _locale(lang: str) -> Locale:
    return Locale.parse(lang)


def plural_form(n: int, lang: str = "ar") -> str:
    """CLDR's plural category of `n` in `lang`: zero, one, two, few, many or other."""
    return _locale(lang if lang in ("ar", "en") else "ar").plural_form(abs(int(n)))


def count(n: int, noun: str, lang: str = "ar") -> str:
    """`n` of `noun` in words, in the form `n` takes (see the module)."""
    lang = lang if lang in ("ar", "en") else "ar"
    forms = NOUNS[noun][lang]
    form = plural_form(n, lang)
    return forms.get(form, forms["other"]).format(n=n)
