"""Arabic counts agree with their number by CLDR's plural forms (through Babel), in the
bot, e-mail and the web view: never "12 تنبيهات" nor "تتابع 1 قائمة"."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from alerts.plurals import NOUNS, count, plural_form
from alerts.render import plain_lines
from alerts.telegram.render import render_alert, render_digest
from monitor.models import Alert


def alert(i: int = 1, sources: tuple[str, ...] = (), kind: str = "story") -> Alert:
    return Alert(id=i, channel="telegram", destination="42", kind=kind, watchlist="russia",
                 watchlist_title="روسيا", story_id=i, cluster=i, title=f"بوتين {i}", url=f"https://n.example/{i}",
                 summary="", source="agency", published=None, sources=sources)


def test_the_six_arabic_forms():
    assert [count(n, "alert") for n in (0, 1, 2, 3, 10, 11, 12, 99, 100, 101, 102, 103, 111)] == [
        "لا تنبيهات", "تنبيه واحد", "تنبيهان", "3 تنبيهات", "10 تنبيهات", "11 تنبيهاً", "12 تنبيهاً",
        "99 تنبيهاً", "100 تنبيه", "101 تنبيه", "102 تنبيه", "103 تنبيهات", "111 تنبيهاً"]
    assert [count(n, "watchlist") for n in (1, 2, 5, 20)] == ["قائمة واحدة", "قائمتان", "5 قوائم", "20 قائمة"]
    assert [count(n, "alert", "en") for n in (0, 1, 2)] == ["0 alerts", "1 alert", "2 alerts"]


@given(st.integers(min_value=0, max_value=10**9))
def test_every_number_has_a_form_of_every_noun(n):
    form = plural_form(n)
    assert form in ("zero", "one", "two", "few", "many", "other")
    for noun in NOUNS:
        text = count(n, noun)
        assert text and ("{n}" not in text) and (str(n) in text or form in ("zero", "one", "two"))


def test_telegram_digests_and_spread_lines_and_email_agree_with_their_number():
    digest = render_digest([alert(i) for i in range(12)])
    assert digest.startswith("<b>🗞 ملخص: 12 تنبيهاً</b>")
    assert render_digest([alert(1), alert(2)]).startswith("<b>🗞 ملخص: تنبيهان</b>")
    spread = render_alert(alert(1, sources=("a", "b"), kind="spread"))
    assert "🔥 ينتشر: نشرته مصدران: a، b" in spread
    lines = plain_lines(alert(1, sources=("a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"), kind="spread"), 600)
    assert any(line.startswith("نشرته 11 مصدراً: ") for line in lines)
