"""What an activity message says, in the index's terms: each of the user's words as the term it
stands for, where it stands, and how well it matches.

Words written apart that make a hyphenated compound of the knowledge are joined ("bio based"). An
unknown word is matched to the closest indexed word (misspellings), or to an indexed term it ends
with (compounds: "nanosatellite"); it then counts FUZZY_QUALITY. The words of a "for …" / "pour …"
clause (whom the activity serves) count MARKET_WEIGHT, when the text before it already matches
something."""

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from rapidfuzz import fuzz, process

from kb.recommend.analysis import Analyzer, Word
from kb.recommend.index import FUZZY_MIN_LENGTH, KnowledgeIndex
from kb.text import normalize, strip_accents

FUZZY_QUALITY = 0.8  # a misspelt word or a compound counts this much of the term it stands for
FUZZY_MIN_SCORE = 85
MARKET_WEIGHT = 0.5


@dataclass
class Query:
    positions: Dict[str, List[int]]  # scoring term -> positions in the text
    stop_positions: Dict[str, List[int]]  # stop or generic word -> positions (completes keywords)
    surfaces: Dict[str, List[str]]  # term -> the words as typed (lower-cased)
    quality: Dict[str, float]  # term -> 1, or less (misspelt, compound, "for …" clause)


class QueryReader:
    """Reads the user's texts against one index (its misspelling corrections are cached)."""

    def __init__(self, index: KnowledgeIndex, analyzer: Analyzer) -> None:
        self._index = index
        self._analyzer = analyzer
        self._correction_cache: Dict[Tuple[str, str], Tuple[str, ...]] = {}

    def read(self, activity: str, context: Optional[str] = None) -> Query:
        """The user's text as terms; `context` (default: the text) decides the language order."""
        languages = self._analyzer.language_order(activity if context is None else context)
        query = Query({}, {}, {}, {})
        found: List[Tuple[Word, float]] = []  # (word with its indexed term, match quality)
        words = self._analyzer.words(activity, languages, (languages[0],), keep_stop=True)
        words += self._joined_words(words, languages)
        # A compound whose joined form is indexed ("sous-traitance", "bio based") stands for
        # itself: its parts are not counted again.
        spans = [
            range(w.position - w.parts + 1, w.position + 1) for w in words if w.parts > 1 and w.key in self._index.idf
        ]
        words = [w for w in words if w.parts > 1 or not any(w.position in span for span in spans)]
        for word in words:
            if word.stop or word.key in self._index.generic:
                query.stop_positions.setdefault(word.key, []).append(word.position)
                query.surfaces.setdefault(word.key, []).append(word.surface)
            elif word.key in self._index.idf:
                found.append((word, 1.0))
            elif word.parts == 1 and strip_accents(word.surface) not in self._analyzer.stop_words[languages[1]]:
                for key in self._correct(word.surface, word.key):
                    found.append((Word(word.surface, key, word.position, word.market), FUZZY_QUALITY))
        activity_found = any(not word.market for word, _ in found)
        for word, quality in found:
            if word.market and activity_found:
                quality *= MARKET_WEIGHT
            query.positions.setdefault(word.key, []).append(word.position)
            if word.surface not in query.surfaces.setdefault(word.key, []):
                query.surfaces[word.key].append(word.surface)
            query.quality[word.key] = max(query.quality.get(word.key, 0.0), quality)
        return query

    def _joined_words(self, words: List[Word], languages: Sequence[str]) -> List[Word]:
        """Two or three adjacent words written apart that make one of the knowledge's compounds."""
        hyphenated = {p for w in words if w.parts > 1 for p in range(w.position - w.parts + 1, w.position + 1)}
        single = {w.position: w for w in words if w.parts == 1 and w.position not in hyphenated}
        found = []
        for size in (2, 3):
            for first in sorted(single):
                group = [single.get(first + i) for i in range(size)]
                if any(w is None for w in group):
                    continue
                key = self._analyzer.key("".join(w.surface for w in group), languages)
                if key in self._index.compound_terms:
                    last = group[-1]
                    surface = " ".join(w.surface for w in group)
                    found.append(Word(surface, key, last.position, last.market, False, size))
        return found

    def _correct(self, surface: str, key: str) -> Tuple[str, ...]:
        """The indexed terms an unknown word stands for: a misspelling of an indexed word or of
        a multi-word keyword written as one ("datacenter"), of a term ("rotomould" for
        "rotomoul"), or a compound ending with an indexed term ("nanosatellites"); () if none."""
        cache_key = (surface, key)
        if cache_key in self._correction_cache:
            return self._correction_cache[cache_key]
        result: Tuple[str, ...] = ()
        norm = "".join(normalize(surface).split())
        if len(norm) >= FUZZY_MIN_LENGTH and not self._analyzer.known_word(surface):
            # Misspellings rarely touch the first letter.
            best = process.extractOne(
                norm, self._index.surface_choices, scorer=fuzz.ratio, score_cutoff=FUZZY_MIN_SCORE
            )
            if best is not None and best[0][0] == norm[0]:
                result = self._index.surface_keys[best[0]]
            elif len(key) >= FUZZY_MIN_LENGTH:
                best = process.extractOne(
                    key, self._index.compound_keys, scorer=fuzz.ratio, score_cutoff=FUZZY_MIN_SCORE
                )
                if best is not None and best[0][0] == key[0]:
                    result = (best[0],)
                else:
                    result = next(
                        ((k,) for k in self._index.compound_keys if key.endswith(k) and len(key) - len(k) >= 3), ()
                    )
        self._correction_cache[cache_key] = result
        return result

