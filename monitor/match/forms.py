"""The forms of group names and demonyms, and the final ى that is not ي.

Both rules read monitor/data/arabic_forms.tsv.gz, counts over the ANT and SaudiNewsNet
corpora built by scripts/build_word_forms.py (whose docstring says what is counted). A
stem's counts are summed over every proclitic reading (والحوثيين, للحوثيين and الحوثيين
all count for الحوثي + ين with the article); ة is folded to ه as in text.

**Forms** (`FormData.forms`). A one-word term whose word, without its article, ends in ي
(a nisba: حوثي, اسرائيلي, صومالي) is a group name when the corpus uses it as one:

* it is seen with the article at least as often as without (`ARTICLE_SHARE`): an
  adjective or a people's name, not a first name (علي 0.1%, ماي 0.1%; الحوثي 97%,
  الصومالي 84%);
* its sound plurals ـيون and ـيين together are seen at least `PLURAL_MIN` times and at
  least `PLURAL_SHARE` times as often as the word itself: a word for people. مالي
  ("financial" far more often than Mali) has 90 plurals for 3,498 uses (2.6%),
  تركي (Turki, Turkish) 2%, روسي 0.8%; الحوثي 100%, الصومالي 44%, الاردني 19%.

Each of its forms — sound plurals ـيون and ـيين ("plural"), feminine ـية ("feminine"),
feminine plural ـيات ("feminine plural") — is then matched, with proclitics and the
article as the word itself, when the corpus attests it: seen at least `FORM_MIN` times
and at most `FORM_RATIO` times as often as the word (a form far more common than its
word is a word of its own). الحوثيات, never seen, is no form of الحوثي. The rule never
adds a suffix the corpus has not seen on that very word, so علي never reaches عليه,
مالي never المالية, ماي never مايو.

**ى that is not ي** (`FormData.particles`). Text folds ى to ي, so علي would match على.
The particles are the words ending in ي that are seen at least `PARTICLE_MIN` times,
written with ى at least `PARTICLE_MAQSURA` of the time, do not carry the article (الأقصى),
and take a preposition ب ل ك or the article less than `PARTICLE_GOVERNED` of the time
(what a name or a noun takes and a particle or verb does not): على, إلى, حتى, لدى, سوى,
متى, and verbs such as أدى, يسعى. Names written with ى are not among them (مصطفى takes
one 8% of the time, يحيى 15%, موسى 33%). A word that a term writes with ي does not
match a token written with final ى where the word as the token writes it is a particle,
alone or after و or ف: علي is not على nor وعلى, فعلي not فعلى. The same holds for
each variant spelling of a `variants: true` term. Written with ى (على), the term
matches both. Every other word matches ى and ي alike
(مصطفي and مصطفى, زيلينسكى and زيلينسكي, either way round).
"""
from __future__ import annotations

import gzip
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from monitor.normalize import TOKEN_RE, normalize

FORMS_RESOURCE = "arabic_forms.tsv.gz"  # in monitor/data

ARTICLE = "ال"
# Suffix (ة folded to ه) -> the kind of form a match output names.
SUFFIXES = {"ون": "plural", "ين": "plural", "ه": "feminine", "ات": "feminine plural"}
ARTICLE_SHARE = 0.5
PLURAL_MIN = 20
PLURAL_SHARE = 0.05
FORM_MIN = 5
FORM_RATIO = 4
PARTICLE_MIN = 500
PARTICLE_MAQSURA = 0.9
PARTICLE_GOVERNED = 0.03
# Final alif maqsura as text writes it (the letter and its presentation forms).
MAQSURA = frozenset("\u0649\ufeef\ufef0")


@dataclass(frozen=True)
class StemCounts:
    """A stem's counts: the stem itself and each suffix, without and with the article."""

    plain: int
    defined: int
    suffixes: dict[str, tuple[int, int]]

    @property
    def total(self) -> int:
        return self.plain + self.defined


@dataclass(frozen=True)
class FormData:
    """The counts of monitor/data/arabic_forms.tsv.gz and what the rules make of them."""

    stems: dict[str, StemCounts]
    particles: frozenset[str]

    def particle(self, word: str) -> bool:
        """True when normalised `word` is a particle, alone or after و or ف (وعلى, فمتى)."""
        particles = self.particles
        return word in particles or (word[:1] in ("و", "ف") and word[1:] in particles)

    def group_name(self, stem: str) -> bool:
        """True when `stem` (no article, ends in ي) is a group name or demonym (module rules)."""
        row = self.stems.get(stem)
        if row is None or row.defined < ARTICLE_SHARE * row.total:
            return False
        plurals = sum(sum(row.suffixes.get(s, (0, 0))) for s in ("ون", "ين"))
        return plurals >= max(PLURAL_MIN, PLURAL_SHARE * row.total)

    def forms(self, word: str) -> tuple[tuple[str, str], ...]:
        """The forms of a normalised word a term matches beside the word itself, as
        (written word, kind), the article kept as the word has it: الحوثي gives
        (الحوثيون, plural), (الحوثيين, plural), (الحوثيه, feminine)."""
        stem = word[2:] if word.startswith(ARTICLE) and len(word) > 3 else word
        if len(stem) < 3 or not stem.endswith("ي") or not self.group_name(stem):
            return ()
        row = self.stems[stem]
        out = []
        for suffix, kind in SUFFIXES.items():
            seen = sum(row.suffixes.get(suffix, (0, 0)))
            if FORM_MIN <= seen <= FORM_RATIO * row.total:
                out.append((word + suffix, kind))
        return tuple(out)


@lru_cache(maxsize=1)
def form_data() -> FormData:
    stems: dict[str, StemCounts] = {}
    particles = set()
    raw = resources.files("monitor.data").joinpath(FORMS_RESOURCE).read_bytes()
    for line in gzip.decompress(raw).decode("utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        kind, word, *cells = line.split("\t")
        if kind == "f":
            plain, defined = map(int, cells[0].split())
            suffixes = {}
            for cell in cells[1:]:
                suffix, p, d = cell.split()
                suffixes[suffix] = (int(p), int(d))
            stems[word] = StemCounts(plain, defined, suffixes)
        elif kind == "y":
            count, maqsura, governed = map(int, cells)
            if (count >= PARTICLE_MIN and maqsura >= PARTICLE_MAQSURA * count
                    and governed < PARTICLE_GOVERNED * count
                    and not (word.startswith(ARTICLE) and len(word) > 3)):
                particles.add(word)
    return FormData(stems, frozenset(particles))


def written_with_maqsura(text: str, end: int) -> bool:
    """True when the letter of `text` just before `end` (the harakat and tatweel that
    trail it skipped) is a final ى as written, before the fold."""
    i = end - 1
    while i >= 0 and ("\u064b" <= text[i] <= "\u065f" or text[i] in "\u0640\u0670"):
        i -= 1
    return i >= 0 and text[i] in MAQSURA


def words_with_maqsura(text: str) -> frozenset[str]:
    """The normalised words of `text` that it writes with a final ى."""
    folded = normalize(text)
    out = set()
    for m in TOKEN_RE.finditer(folded.text):
        if m.group().endswith("ي") and written_with_maqsura(text, folded.span(m.start(), m.end())[1]):
            out.add(m.group())
    return frozenset(out)
