"""Text analysis for the ranking: the words of a text and the term each stands for.

Words come from `kb.text.compound_words` (French elisions dropped, hyphenated compounds kept
whole), are lower-cased and lemmatised as spaCy's lookup lemmatizer does, with the very tables it
loads from the installed spacy-lookups-data package (read directly: no download, works offline,
and no import of spaCy and TensorFlow). The lemma is accent-stripped with `kb.text.normalize`,
then cut by a light suffix stripper of its language (`stem`), so that "recycling" / "recycled" or
"recyclage" / "recycler" meet, and plurals the tables miss ("dechets" typed without accents) too.
spaCy's stop words (en, fr) are flagged, except acronyms typed in capitals ("IT")."""

import gzip
import json
import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Set, Tuple

from kb.text import compound_words, normalize, split_compound, stop_words, strip_accents

# "X for Y" / "X pour Y": Y is whom the activity serves, not the activity (until the clause ends).
MARKET_MARKERS = {"for", "pour"}
_CLAUSE_END = re.compile(r"[.;:!?,()\[\]\n]")

# Light suffix strippers, applied after lemmatisation and accent stripping (longest suffix
# first, one suffix); the stem keeps at least _MIN_STEM letters. One list per language, used for
# the language whose table gave the lemma (English keeps "-er": "plaster" is not "plastic").
_SUFFIXES = {
    "en": (
        "ations", "ation", "ments", "ment", "ical", "ics", "ic", "ings", "ing", "istry", "eries",
        "ery", "ies", "ied", "ed", "ised", "ized", "ising", "izing", "ise", "ize", "ally", "al",
        "ates", "ated", "ate", "atic", "ists", "ist", "es", "e", "s", "y",
    ),
    "fr": (
        "issements", "issement", "isations", "isation", "iser", "ations", "ation", "ements",
        "ement", "ments", "ment", "ateurs", "ateur", "atrices", "atrice", "iques", "ique", "eries",
        "erie", "eurs", "eur", "euses", "euse", "ives", "ive", "ifs", "if", "ies", "ie", "ons",
        "ez", "er", "ales", "ale", "aux", "al", "ages", "age", "ees", "ee", "es", "e", "s", "x",
    ),
}
_SUFFIXES = {language: tuple(sorted(suffixes, key=len, reverse=True)) for language, suffixes in _SUFFIXES.items()}
_MIN_STEM = 4


def stem(word: str, language: str) -> str:
    for suffix in _SUFFIXES[language]:
        if word.endswith(suffix) and len(word) - len(suffix) >= _MIN_STEM:
            return word[: -len(suffix)]
    return word


@dataclass(frozen=True)
class Word:
    surface: str  # as typed, lower-cased
    key: str  # the analysed term
    position: int  # index among all the words of the text
    market: bool = False  # in a "for …" / "pour …" clause
    stop: bool = False  # a stop word (kept only on request)
    parts: int = 1  # for the joined form of a hyphenated compound: its number of parts


def _lemma_lookup_table(language: str) -> Dict[str, str]:
    """spaCy's lookup-lemmatizer table for `language`, as shipped by spacy-lookups-data."""
    import spacy_lookups_data  # a data package: light to import

    with gzip.open(str(spacy_lookups_data.get_file(f"{language}_lemma_lookup.json.gz")), "rt", encoding="utf-8") as data:
        return json.load(data)


class Analyzer:
    """Words -> terms: lemma (spaCy lookup tables), accents, suffixes; stop words."""

    def __init__(self) -> None:
        # spaCy's own data, read straight from its files: the lemma lookup tables that its
        # lookup lemmatizer loads from spacy-lookups-data, and its stop-word lists. Importing
        # spaCy itself would import TensorFlow (through thinc) and add seconds to every start.
        self._tables = {language: _lemma_lookup_table(language) for language in ("en", "fr")}
        self.stop_words: Dict[str, Set[str]] = {language: stop_words(language) for language in ("en", "fr")}
        # The tables' keys are inflected forms; their values, the lemmas, are words too.
        self._lemmas = {
            language: {
                value for found in table.values()
                for value in (found if isinstance(found, list) else [found]) if isinstance(value, str)
            }
            for language, table in self._tables.items()
        }
        self._cache: Dict[Tuple[str, Tuple[str, ...]], str] = {}

    def known_in(self, word: str, language: str) -> bool:
        """A word of that language's dictionary (an inflected form or a lemma)."""
        return word in self._tables[language] or word in self._lemmas[language]

    def known_word(self, word: str) -> bool:
        """A word of either dictionary (so not a misspelling)."""
        return any(self.known_in(word, language) for language in self._tables)

    def lemma(self, word: str, languages: Sequence[str]) -> Tuple[str, str]:
        """The lemma and the language whose table gave it (the word itself and the first
        language when no table knows it)."""
        for language in languages:
            found = self._tables[language].get(word)
            if isinstance(found, list):
                found = found[0] if found else None
            if found:
                return found, language
        for language in languages:  # a lemma already ("brasserie")
            if word in self._lemmas[language]:
                return word, language
        return word, languages[0]

    def key(self, word: str, languages: Sequence[str]) -> str:
        """The term of one lower-cased word (accents still there for the lemma lookup)."""
        cache_key = (word, tuple(languages))
        if cache_key not in self._cache:
            lemma, language = self.lemma(word, languages)
            self._cache[cache_key] = stem("".join(normalize(lemma).split()), language)
        return self._cache[cache_key]

    def words(
        self, text: str, languages: Sequence[str], stop_languages: Sequence[str], keep_stop: bool = False,
        compound_parts: bool = True,
    ) -> List[Word]:
        """The words of `text` with their terms; single letters out, stop words (of
        `stop_languages`) and numbers out unless `keep_stop` (then flagged as stop words). A
        hyphenated compound gives its joined form ("éco-construction" -> "écoconstruction"),
        after its parts unless not `compound_parts`."""
        found: List[Word] = []
        position, market, end = 0, False, 0
        for typed, start, word_end in compound_words(text):
            if _CLAUSE_END.search(text, end, start):
                market = False
            end = word_end
            compound = typed.casefold()
            if compound in MARKET_MARKERS:
                market = True
            acronym = len(typed) >= 2 and typed.isupper()  # "IT", "PVC": never a stop word
            parts = split_compound(compound)
            for part in parts:
                if compound_parts or len(parts) == 1:
                    self._add(found, part, part, position, market, acronym, languages, stop_languages, keep_stop)
                position += 1
            if len(parts) > 1:
                self._add(found, compound, "".join(parts), position - 1, market, acronym,
                          languages, stop_languages, keep_stop, len(parts))
        return found

    def document_words(self, text: str, language: str, keep_stop: bool = False) -> List[Word]:
        """A knowledge text's words, in its language (a word missing from its table: the other's)."""
        other = "fr" if language == "en" else "en"
        return self.words(text, (language, other), (language,), keep_stop, compound_parts=False)

    def _add(self, found, surface, word, position, market, acronym, languages, stop_languages, keep_stop,
             parts: int = 1) -> None:
        norm = strip_accents(word)
        if len(norm) < 2 and not norm.isdigit():
            return
        key = self.key(word, languages)
        stop = norm.isdigit() or (not acronym and any(
            norm in self.stop_words[language] or self._lemma_is_stop(word, languages, language)
            for language in stop_languages
        ))
        if stop and not keep_stop:
            return
        found.append(Word(surface, key, position, market, stop, parts))

    def _lemma_is_stop(self, word: str, languages: Sequence[str], stop_language: str) -> bool:
        """"making" is a stop word as "make" is (the lemma of a word of the stop list's language)."""
        lemma, language = self.lemma(word, languages)
        return language == stop_language and strip_accents(lemma) in self.stop_words[stop_language]

    def language_order(self, text: str) -> Tuple[str, str]:
        """("en", "fr") or ("fr", "en"): the language with more of its own stop words first; with
        no difference there, the one whose dictionary alone knows more of the words."""
        words = [typed.casefold() for typed, _, _ in compound_words(text)]
        norms = [strip_accents(w) for w in words]
        en = sum(1 for w in norms if w in self.stop_words["en"] and w not in self.stop_words["fr"])
        fr = sum(1 for w in norms if w in self.stop_words["fr"] and w not in self.stop_words["en"])
        if en == fr:
            known = [(self.known_in(w, "en"), self.known_in(w, "fr")) for w in words]
            en = sum(1 for in_en, in_fr in known if in_en and not in_fr)
            fr = sum(1 for in_en, in_fr in known if in_fr and not in_en)
        return ("fr", "en") if fr > en else ("en", "fr")


_ANALYZER: Optional[Analyzer] = None


def shared_analyzer() -> Analyzer:
    """The analyser (spaCy tables, loaded once per process: a knowledge reload reuses it)."""
    global _ANALYZER
    if _ANALYZER is None:
        _ANALYZER = Analyzer()
    return _ANALYZER
