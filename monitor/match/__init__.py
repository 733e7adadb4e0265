"""Match stories against all watchlists at once, Arabic-aware, with reasons.

Text and terms go through the same `normalize` (monitor/normalize.py) and are cut into
tokens: runs of letters, or runs of digits (so "بـ2024" is ب + 2024 and "G20" is g + 20).

Term rules
----------
* **Word.** A one-word term matches a whole token, optionally carrying proclitics in
  this order: و or ف, then ب ل or ك, then the article ال (ل + ال is written لل). So
  موسكو matches وموسكو, لموسكو, بموسكو, والموسكو…; نيل matches النيل; never a longer word
  (مصر is not in مصرف, نيل is not in النيلي). A term that starts with ال keeps its
  article: الحكومة matches الحكومة, والحكومة, بالحكومة, للحكومة but not حكومة. Because
  hamza is folded, a word whose own first letters are ال (ألبانيا → البانيا) also matches
  with any proclitic in front (لألبانيا).
* **Lexical words are not split.** A proclitic reading is refused when the whole token is
  a common word that the reading cannot explain: كامل is "complete", not ك + أمل, so أمل
  never fires on كامل (nor on وكامل). The decisions come from word counts over the ANT
  and SaudiNewsNet corpora, shipped in monitor/data/arabic_words.tsv.gz and built by
  scripts/build_common_words.py, whose docstring gives the rule and the measured ratios.
  لمصر, بموسكو, ولبنان, لبوتين stay hits. The article alone is never refused. A two-clitic
  reading is not refused when the token without its و/ف is an ordinary one-clitic reading
  at least as common as it (ولحزب is و + لحزب, ولذلك و + لذلك; وكالة, ولاية stay words).
* **Compound names** (monitor/match/compounds.py): a term written with عبد، أبو، أبي،
  أبا، ابن or بن apart from the next word also matches them joined, and joined apart:
  عبد الله / عبدالله, أبو ظبي / أبوظبي, عبد الفتاح السيسي / عبدالفتاح السيسي, with
  proclitics as usual (لعبدالله). Only a prefix and the word that follows it in the term
  are joined; بن only where the joined word is not a common word (بنغازي stays apart).
* **Phrase.** A multi-word term matches its words in order as consecutive tokens, so
  only spaces, newlines or punctuation may stand between them; the first word may carry
  proclitics, the others must be as written (after normalisation).
* **Forms of group names** (monitor/match/forms.py). A one-word term (not exact, not
  variants) whose word without its article ends in ي is a group name or demonym when the
  corpus counts of monitor/data/arabic_forms.tsv.gz (scripts/build_word_forms.py) see it
  with the article at least half the time (`ARTICLE_SHARE`: علي 0.1%, الحوثي 97%) and
  its plurals ـيون + ـيين at least 20 times and at least 5% as often as the word
  (`PLURAL_MIN`, `PLURAL_SHARE`: مالي 2.6%, تركي 2%, الصومالي 44%). It then also
  matches each of its forms — ـيون and ـيين ("plural"), ـية ("feminine"), ـيات
  ("feminine plural") — that the corpus has seen at least 5 times and at most 4 times as
  often as the word (`FORM_MIN`, `FORM_RATIO`), as a word of its own: with proclitics
  and the article by the word rule (الحوثي finds والحوثيين, للحوثيين, الحوثية). No
  suffix is added that the corpus has not seen on that word: علي never reaches عليه,
  مالي never المالية, ماي never مايو. `Matcher.form_of` names the form a match is on.
* **ى that is not ي** (monitor/match/forms.py). A word that the term writes with ي does
  not match a token written with a final ى (before the fold) where the word as the token
  writes it is a particle, alone or after و/ف: seen ≥ 500 times, written ى ≥ 90% of the
  time, after ب ل ك or with the article < 3% of the time (`PARTICLE_*`: على, إلى,
  حتى, لدى, سوى, متى and verbs such as أدى). So علي is not على nor وعلى, while names
  written with ى (مصطفى 8%, موسى 33%) match ى and ي either way, and a term written
  with ى (على) matches both. Variant spellings are held to the same check.
* **exact: true.** The token must be the term itself: no proclitics, no article, no
  forms (a compound name still matches joined or apart).
* **variants: true.** The term also matches the spellings by which outlets transliterate
  a foreign name. Each word of the term becomes a pattern by these written rules:
    - letter classes: غ ج ق (g); ت ط (t); س ص (s); ز ذ (z); ف ڤ (v); ب پ (p);
      ش ↔ تش (ch); hamza seats ئ ي ء and ؤ و ء;
    - a long vowel ا و ي inside the word (not first, not last) may be left out when both
      its neighbours are consonants: ماكرون → ماكرن, بلينكن → بلنكن, تيليغرام → تلغرام.
      A vowel next to another vowel (كييف, بايدن, نتنياهو's يا) is kept: كييف never
      becomes كيف;
    - the diphthong ai: an ي between two consonants may be written اي, and اي
      between two consonants may be written ي (فيسبوك / فايسبوك, مايكروسوفت /
      ميكروسوفت); an ي next to a vowel keeps its spelling (سوريا never سرايا);
    - between two consonants inside the word one long vowel ا و ي may be added:
      ترمب → ترامب, نتنياهو → نتانياهو, بوتن → بوتين;
    - the last letter ا may be written ه and back (كوريا / كوريه);
    - in a word of five letters or more: س/ز and ج/ز and غ/ه inside the word (شولتس /
      شولتز, بريغوجين / بريغوزين, لوغانسك / لوهانسك), ش/س and س/ز as the last letter
      (غوتيريش / غوتيريس), and a first فا written وا and back (فاغنر / واغنر). A spelling
      that uses these is never shorter than the term (ماتيس is never ماتش nor متز).
  Proclitics work as for plain terms (unless exact). Two corpus guards refuse a variant
  spelling other than the term's own, whatever proclitics the token carries: it is a
  very common word (≥ 500 times) and 20 times more common than the term's spelling; or
  it is an ordinary noun — its form with the article is seen ≥ 30 times and either 5
  times more often than the term's own with the article or at least a fifth as often as
  the spelling without it (بوتين's rules reach بطن "belly": البطن is common, البوتين is
  not; فيصل's reach فصل, and الفصل "the semester" is as common as فصل).
  There is no edit distance: بوتين never matches بروتين.
  Words of fewer than three letters get no variants.
* **Latin** terms match whole tokens, case-insensitively (NATO is not in DONATOR).
* **near: [A, B, …], within: N.** Every part occurs in the same field (in the body, the
  same paragraph) with at most N other words between any two of them; each part follows
  the word/phrase rules and the term's exact/variants options. A near term reports one
  match per part.
* **regex.** An RE2 pattern (no backtracking: linear time whatever the pattern) run
  over the normalised field text, case-insensitively; its non-ASCII letters are folded
  like text (write أ or ا, both work). It is not anchored to words. Memory per pattern
  is capped (`REGEX_MAX_MEM`) and a pattern that matches the empty string is refused. A
  pattern RE2 refuses is reported in words, with the part of it RE2 stumbled on.

A story is read in three fields, by the same rules: the title, the summary (the lead)
and the body (the article's text, paragraphs apart: `monitor.snippet` says how they are
counted). A term may be restricted to some of them (`in:`, `Term.fields`; a term without
its own takes its watchlist's, and one without either reads all three); this holds for
`require` and `exclude` terms too: an exclude term with `in: [title]` drops a story only
when it is in the title. A field that no term of any watchlist reads is not scanned.

A watchlist fires when one of its `terms` matches in a field it reads, one of its
`require` terms matches (if it has any), and none of its `exclude` terms does, each in
any of the fields (a require term in the body counts for a term in the title). Its
matches are the hits of `terms` and `require`, every occurrence, as Match(watchlist,
term, field, start, end, paragraph) with offsets into the ORIGINAL field text (the whole
body, not its paragraph) and, in the body, the paragraph from 1 (0 elsewhere). A span
covers the term's own letters (a form's: الحوثيين), not the proclitics in front (لموسكو → موسكو; for الحكومة
in للحكومة it starts at the second ل, the article's), and takes in marks (harakat,
tatweel) that trail its last letter. Matches are sorted by watchlist name, field (title,
summary, body), start, end and term.

The package, one module per concern: `lexicon` (tokens, proclitics, the corpus word
counts), `forms` (group names' forms and the particles written with ى), `variants`
(variant spellings and their skeletons), `textviews` (tokens read off encoded bytes,
offsets mapped back), `regex` (RE2 terms), `plans` (a term compiled), `compiled` (every
watchlist's terms in the indexes, changed in place), `hits` (phrase, near and field
hits) and `matcher` (the `Matcher` that reads those indexes, and `MatcherGroup`). The
text fold is `monitor.normalize`'s, the only one. Outside the package only these names
are imported, from `monitor.match` itself (an import-linter contract in pyproject.toml).
"""
from .compounds import compound_spellings
from .forms import FORMS_RESOURCE, form_data
from .lexicon import CLITICS, TOKEN_RE, bare, tokenize, word_data
from .matcher import Matcher, MatcherGroup, MatchVerdict
from .regex import compile_regex, printable, quote
from .variants import skeleton, skeletons, variant_pattern

__all__ = [
    "CLITICS", "TOKEN_RE", "Matcher", "MatcherGroup", "compile_regex", "printable", "quote", "skeleton", "skeletons",
    "MatchVerdict", "tokenize", "variant_pattern", "word_data", "bare", "compound_spellings", "form_data",
    "FORMS_RESOURCE",
]
