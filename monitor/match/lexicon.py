"""The Arabic a matcher reads words with: tokens, proclitics, and the lexical words
they must not be read off.

Rules (the full term rules are in `monitor.match`):

* Tokens are runs of letters or runs of digits of normalised text (`tokenize`).
* A word may carry proclitics in this order: و or ف, then ب ل or ك, then the article ال
  (ل + ال is written لل): `SPLITS`, every way to read a token's front.
* A reading is refused when the whole token is a common word the reading cannot explain
  (`WordData.refuses`): the counts come from monitor/data/arabic_words.tsv.gz, built by
  scripts/build_common_words.py, whose docstring gives the rule and the measured ratios.
* `written_forms(word)` lists every written form of a plain word (at most 27), with
  where the term's span starts in it, minus the refused ones. A group name's form
  without the article (حوثيين, of the term حوثي) is judged with it where a reading
  carries it (للحوثيين is ل + الحوثيين, not a word of its own).
"""
from __future__ import annotations

import gzip
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

# Tokens are defined with the fold, where the store's search index reads them too.
from monitor.normalize import TOKEN_RE, tokenize  # noqa: F401 - re-exported

ARTICLE = "ال"
CONJUNCTIONS = ("و", "ف")
PREPOSITIONS = ("ب", "ل", "ك")
CLITICS = ("و", "ف", "ب", "ل", "ك", "وب", "ول", "وك", "فب", "فل", "فك")


@dataclass(frozen=True)
class Split:
    """One way to read a token's front: the written prefix, its clitic letters, the article."""

    prefix: str
    clitics: str
    article: bool
    # Where the term's span starts, counted from the token start, for a term without and
    # with its own article.
    offset_plain: int
    offset_article: int


def _splits() -> tuple[Split, ...]:
    out = []
    for conj in ("",) + CONJUNCTIONS:
        for prep in ("",) + PREPOSITIONS:
            clitics = conj + prep
            out.append(Split(clitics, clitics, False, len(clitics), len(clitics)))
            if prep != "ل":
                out.append(Split(clitics + ARTICLE, clitics, True, len(clitics) + 2, len(clitics)))
        out.append(Split(conj + "لل", conj + "ل", True, len(conj) + 2, len(conj) + 1))
    return tuple(out)


SPLITS = _splits()
SPLITS_BY_FIRST: dict[str, tuple[Split, ...]] = {}
for _split in SPLITS:
    if _split.prefix:
        SPLITS_BY_FIRST.setdefault(_split.prefix[0], ())
        SPLITS_BY_FIRST[_split.prefix[0]] += (_split,)
NO_PREFIX = tuple(sp for sp in SPLITS if not sp.prefix)


@dataclass(frozen=True)
class WordData:
    """Corpus word counts and the clitic lengths at which a token is a word of its own."""

    counts: dict[str, int]
    lexical: dict[str, frozenset[int]]

    def refuses(self, form: str, clitics: str, word: str | None = None) -> bool:
        """True when reading `clitics` off the front of token `form` is refused as lexical.

        `word` is what would remain (the term's word). A reading flagged lexical by the
        corpus counts is refused only where it is a real collision: the remaining word is
        short (≤ 3 letters: امل، ريم، مال، روس، اسد — the words other words swallow) or the
        token is at least as common as the word itself (بطاقة beside طاقة). A clitic that
        merely attaches often to a longer word (لرويترز، بإسطنبول، للصحيفة، كرئيس، ومعتز)
        is a reading, never a collision."""
        if not clitics:
            return False
        if len(clitics) in self.lexical.get(form, ()):
            if len(clitics) == 2 and self._conjunction_on_reading(form):
                return False
            return self._collides(form, word)
        # و/ف + a lexical word: وكامل is و + كامل, not و + ك + امل.
        return len(clitics) == 2 and 1 in self.lexical.get(form[1:], ()) and self._collides(form[1:], word)

    def _conjunction_on_reading(self, form: str) -> bool:
        """و/ف on a token that is itself an ordinary one-clitic reading, and at least as
        common as the token: ولحزب is و + لحزب ("and for the party"), ولذلك و + لذلك. A
        two-clitic count alone says little (most words never carry ول), so it is not
        enough to call the token a word of its own (وكالة, ولاية, وليد stay refused)."""
        one = form[1:]
        return 1 not in self.lexical.get(one, ()) and self.counts.get(one, 0) >= max(self.counts.get(form, 0), 1)

    def _collides(self, token: str, word: str | None) -> bool:
        if word is None:
            return True
        return len(word) <= 3 or self.counts.get(token, 0) >= self.counts.get(word, 0)


@lru_cache(maxsize=1)
def word_data() -> WordData:
    counts: dict[str, int] = {}
    lexical: dict[str, frozenset[int]] = {}
    raw = resources.files("monitor").joinpath("data/arabic_words.tsv.gz").read_bytes()
    for line in gzip.decompress(raw).decode("utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        word, count, lex = line.split("\t")
        counts[word] = int(count)
        if lex:
            lexical[word] = frozenset(int(x) for x in lex.split(","))
    return WordData(counts, lexical)


def has_article(word: str) -> bool:
    return word.startswith(ARTICLE) and len(word) > 3


def bare(word: str) -> str:
    return word[2:] if has_article(word) else word



def written_forms(word: str, exact: bool, data: WordData, defined: bool = False) -> list[tuple[str, int]]:
    """Every written form of `word` (see the module). With `defined` (a group name's form,
    monitor/match/forms.py), a reading with the article is judged against the word with
    its article: للحوثيين is ل + الحوثيين, far more common than حوثيين alone."""
    if exact:
        return [(word, 0)]
    out: dict[str, int] = {}
    article = has_article(word)
    bare = word[2:] if article else word
    for split in SPLITS:
        candidates = []
        if article:
            if split.article:
                if split.prefix.endswith("لل") and bare.startswith("ل"):
                    # ل + اللجنة is written للجنة: three lams are written as two
                    candidates.append((split.prefix + bare[1:], split.offset_article))
                else:
                    candidates.append((split.prefix + bare, split.offset_article))
            else:
                candidates.append((split.prefix + word, split.offset_plain))
        else:
            candidates.append((split.prefix + word, split.offset_plain))
        left = ARTICLE + word if defined and split.article and not article else word
        for form, offset in candidates:
            if form in out or data.refuses(form, split.clitics, left):
                continue
            out[form] = offset
    return list(out.items())

