"""The copy level's text column (`monitor.dedup.compact`): every text comes back as it
was given, whatever its script, after the front is cut, and a snapshot whose texts do
not add up is refused."""
from __future__ import annotations

from array import array

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.dedup.compact import PACKED, UTF8, TextColumn, pack

ARABIC = "".join(chr(c) for c in range(0x621, 0x64B))


@given(st.lists(st.text(alphabet=st.sampled_from(ARABIC + " \nabc019é€😀\ud800")), max_size=30),
       st.integers(min_value=0, max_value=30))
def test_texts_come_back_as_given_after_a_cut(texts, cut):
    column = TextColumn()
    for t in texts:
        column.append(*pack(t))
    cut = min(cut, len(texts))
    column.cut(cut)
    assert [column.text(i) for i in range(len(column))] == texts[cut:]
    for i, t in enumerate(texts[cut:]):
        compact = column.compact(i)
        if compact is not None:  # the compact form keeps word splits and order
            assert compact.split() != [] or t.split() == []
            assert len(compact) == len(t)


def test_arabic_takes_one_byte_a_letter_and_other_scripts_keep_utf8():
    packed, kind = pack("بوتين في كورسك")
    assert kind == PACKED and len(packed) == len("بوتين في كورسك")
    assert pack("Zelensky — زيلينسكي")[1] == UTF8


def test_a_snapshot_whose_texts_do_not_add_up_is_refused():
    column = TextColumn()
    for t in ("بوتين في كورسك", "Zelensky — زيلينسكي"):
        column.append(*pack(t))
    state = column.state("text.")
    broken = dict(state)
    broken["text.data"] = array("B", state["text.data"][:-1])
    with pytest.raises(ValueError, match="do not add up"):
        TextColumn().restore(broken, "text.", "dedup snapshot")
    wrong = dict(state, **{"text.kinds": array("b", [PACKED, 7])})
    with pytest.raises(ValueError, match="do not add up"):
        TextColumn().restore(wrong, "text.", "dedup snapshot")
    again = TextColumn()
    again.restore(state, "text.", "dedup snapshot")
    assert [again.text(i) for i in range(2)] == ["بوتين في كورسك", "Zelensky — زيلينسكي"]
