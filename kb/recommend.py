"""Ranks the clusters for a description of a user's activity ("we make vaccines", "nous
extrudons des tubes en PVC"), with the reasons of each match.

Plain Python (no Rasa import). Everything is derived from the knowledge base: no cluster id,
name or fact is written here.

Method
- Analysis. Words are split (French elisions too), lower-cased and lemmatised as spaCy's lookup
  lemmatizer does, with the very tables it loads from the installed spacy-lookups-data package
  (read directly: no download, works offline, and no import of spaCy and TensorFlow).
  The lemma is accent-stripped with `kb.text.normalize`, then cut by a light suffix stripper of
  its language (`_stem`), so that "recycling" / "recycled" or "recyclage" / "recycler" meet, and
  plurals the tables miss ("dechets" typed without accents) too. spaCy's stop words (en, fr) are
  dropped, except acronyms typed in capitals ("IT"). Generic words are dropped by document
  frequency: those in at least half of the cluster documents, and those shared by clusters that
  the general texts about the policy (policy.yml) use often ("company", "network", "Wallonia").
- Index, built once in `__init__`: one document per cluster (description, strategy, members
  and scope items, keywords; English and French) with each term's best field weight (a one-word
  keyword counts most, then a page item, a word of multi-word keywords, the description) and
  IDF weights over the cluster documents (rare words count more).
- Score of a cluster: sum over the user's terms of IDF x field weight x match quality. A
  multi-word keyword found whole ("injection moulding", its words close together, its edge stop
  words too: "IT services") is one strong concept: its n words count (1 + PHRASE_BONUS) / sqrt(n)
  each. Words written apart that make a hyphenated compound of the knowledge are joined ("bio
  based"). An unknown word is matched to the closest indexed word (misspellings), or to an
  indexed term it ends with (compounds: "nanosatellite"); it then counts FUZZY_QUALITY. The words
  of a "for …" / "pour …" clause (whom the activity serves) count MARKET_WEIGHT, when the text
  before it already matches something.
- The organisation type and the goal multiply a cluster's score by at most 1 + MAX_BONUS: they
  reorder near-ties only, and never turn a zero into a match.
- A text whose best score stays under MIN_SCORE is vague. Runners-up are kept when they reach
  RUNNER_UP_SHARE of the top score. Equal scores keep page order.
"""

import gzip
import importlib.util
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Set, Tuple

from rapidfuzz import fuzz, process

from kb.model import Cluster, KnowledgeBase, Text
from kb.text import normalize, strip_accents

ORGANISATION_TYPES = ("company", "startup", "research", "training", "public", "other")
GOALS = ("rnd", "network", "visibility", "training", "unsure")

# Field weights: how much a term counts according to where the cluster states it.
KEYWORD_WEIGHT = 1.0  # a one-word keyword
KEYWORD_PART_WEIGHT = 0.3  # a word of a multi-word keyword, found without the rest…
PART_REPEAT_CAP = 3  # … up to twice that when it is a word of this many of the cluster's keywords
ITEM_WEIGHT = 0.5  # a strategy / members / scope item of the page
DESCRIPTION_WEIGHT = 0.2  # the page's paragraph (prose: "know-how internationally renowned")
# A multi-word keyword found whole is one concept: each of its n words counts
# KEYWORD_WEIGHT x (1 + PHRASE_BONUS) / sqrt(n) ("wind turbine" is not two findings).
PHRASE_BONUS = 0.2
PHRASE_SLACK = 3  # its words may be this many extra words apart in the text
FUZZY_QUALITY = 0.8  # a misspelt word or a compound counts this much of the term it stands for
FUZZY_MIN_SCORE = 85
FUZZY_MIN_LENGTH = 5
COMPOUND_MIN_LENGTH = 5  # an indexed term this long is recognised at the end of a compound
# "X for Y" / "X pour Y": Y is whom the activity serves, not the activity.
MARKET_WEIGHT = 0.5
_MARKET_MARKERS = {"for", "pour"}
# Generic words, by document frequency (see the module docstring).
GENERIC_SHARE = 0.5  # of the cluster documents
BACKGROUND_SHARE = 0.1  # of the policy paragraphs, for a word of two clusters or more

MIN_SCORE = 1.0  # below this, the best match is too weak: the text is vague
WEAK_MAX_UNEXPLAINED = 2  # more of the user's words unmatched, and one matching word says nothing
STRONG_SINGLE_SCORE = 2.0
STRONG_MIN_SHARE = 1 / 3  # of the user's content words that match, for several words to be strong evidence  # one word alone is strong evidence from this score (a specific keyword, not a word of prose)
RUNNER_UP_SHARE = 0.6  # runners-up are shown when they reach this share of the top score
MAX_MATCHES = 3
MAX_REASONS = 6  # activity reasons per match
SHOWN_ACTIVITY_REASONS = 2  # activity reasons placed before the member type and goal reasons

# Organisation type and goal: small multiplicative bonuses (they only break near-ties).
ORG_BONUS = 0.04
GOAL_BONUS = 0.03
MAX_BONUS = ORG_BONUS + GOAL_BONUS

# The words by which the knowledge states that a cluster gathers a kind of member, looked for
# as whole words (plural -s/-es tolerated) in each cluster's members and description, both
# languages, accents and case ignored. Strength 1.0 for words naming exactly that kind, 0.5 for
# a broader kind (a start-up is a company).
_ORGANISATION_MARKERS: Dict[str, Tuple[Tuple[str, float], ...]] = {
    "research": tuple((w, 1.0) for w in (
        "research", "recherche", "laboratory", "laboratories", "laboratoire", "university",
        "universities", "universite", "scientist", "scientifique",
    )),
    "training": tuple((w, 1.0) for w in (
        "training", "formation", "school", "ecole", "education", "enseignement",
    )),
    "company": tuple((w, 1.0) for w in (
        "company", "companies", "enterprise", "entreprise", "manufacturer", "fabricant", "producer",
        "producteur", "contractor", "supplier", "fournisseur", "processor", "transformateur",
        "professional", "professionnel", "builder",
    )),
    "startup": tuple((w, 1.0) for w in (
        "new companies", "nouvelles entreprises", "start up", "startup", "spin off",
    )) + tuple((w, 0.5) for w in ("company", "companies", "enterprise", "entreprise", "manufacturer", "fabricant")),
    "public": tuple((w, 1.0) for w in (
        "public authorities", "public bodies", "pouvoirs publics", "municipalities",
        "local authorities", "administrations publiques", "pouvoirs locaux",
    )),
    "other": (),
}
# A goal favours the clusters of one type (keys of policy.yml `cluster_types`): R&D projects are
# what competitiveness clusters run; networking is what business clusters are.
_GOAL_TYPES = {"rnd": "competitiveness", "network": "business"}

# "l'", "d'", "qu'"… glued to the next word.
_ELISION = re.compile(r"\b(?:l|d|j|m|n|s|t|c|qu|jusqu|lorsqu|puisqu)['’](?=\w)", re.IGNORECASE)
_WORD = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*")
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


def _stem(word: str, language: str) -> str:
    for suffix in _SUFFIXES[language]:
        if word.endswith(suffix) and len(word) - len(suffix) >= _MIN_STEM:
            return word[: -len(suffix)]
    return word


def _phrase_weight(words: int) -> float:
    """The weight of each word of a keyword found whole (KEYWORD_WEIGHT for a one-word one)."""
    return KEYWORD_WEIGHT if words <= 1 else KEYWORD_WEIGHT * (1 + PHRASE_BONUS) / math.sqrt(words)


@dataclass(frozen=True)
class Reason:
    kind: str  # "page" | "keyword" | "member_type" | "goal"
    field: str  # "description" | "strategy" | "members" | "scope" | "keywords" | "type"
    item: Text  # the matched fact, item or keyword (a keyword: its en/fr pair when both matched)
    terms: Tuple[str, ...]  # the user's words (as typed, lower-cased) that matched


@dataclass(frozen=True)
class ClusterMatch:
    cluster_id: str
    score: float
    # Strongest first: the two strongest activity reasons, then the member type and goal reasons
    # when they apply (they weigh little but say why the order is so), then the other activity ones.
    reasons: Tuple[Reason, ...]


@dataclass(frozen=True)
class Recommendation:
    matches: Tuple[ClusterMatch, ...]  # best first, at most MAX_MATCHES
    vague: bool  # nothing informative or nothing matching well enough; then no matches


@dataclass(frozen=True)
class Evidence:
    """How well a text describes an activity of the top cluster: "strong" when two different
    words (or a multi-word term) of the user's match it, or one specific word explains the whole
    text; "weak" when one word carries the ranking and the text says a little more that matches
    nothing; "unclear" when that one word stands among many that match nothing (a battery-cell
    maker is no life-sciences company because of "cells"; a tree surgeon none because of
    "surgery"); "none" when nothing matches."""

    level: str  # strong | weak | unclear | none
    matched: Tuple[str, ...]  # the user's words that match the top cluster
    unexplained: Tuple[str, ...]  # the user's other content words


@dataclass(frozen=True)
class _Word:
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


def _spacy_stop_words(language: str) -> Set[str]:
    """spaCy's stop words for `language`, read from its source file without importing spaCy."""
    spec = importlib.util.find_spec("spacy")  # locates the package; does not import it
    path = Path(spec.origin).parent / "lang" / language / "stop_words.py"
    namespace: Dict[str, Any] = {}
    exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), namespace)  # defines STOP_WORDS only
    return set(namespace["STOP_WORDS"])


class _Analyzer:
    """Words -> terms: lemma (spaCy lookup tables), accents, suffixes; stop words."""

    def __init__(self) -> None:
        # spaCy's own data, read straight from its files: the lemma lookup tables that its
        # lookup lemmatizer loads from spacy-lookups-data, and its stop-word lists. Importing
        # spaCy itself would import TensorFlow (through thinc) and add seconds to every start.
        self._tables = {language: _lemma_lookup_table(language) for language in ("en", "fr")}
        self.stop_words: Dict[str, Set[str]] = {
            language: {strip_accents(w.casefold()) for w in _spacy_stop_words(language)} for language in ("en", "fr")
        }
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
            self._cache[cache_key] = _stem("".join(normalize(lemma).split()), language)
        return self._cache[cache_key]

    def words(
        self, text: str, languages: Sequence[str], stop_languages: Sequence[str], keep_stop: bool = False,
        compound_parts: bool = True,
    ) -> List[_Word]:
        """The words of `text` with their terms; single letters out, stop words (of
        `stop_languages`) and numbers out unless `keep_stop` (then flagged as stop words). A
        hyphenated compound gives its joined form ("éco-construction" -> "écoconstruction"),
        after its parts unless not `compound_parts`."""
        text = _ELISION.sub(" ", text)
        found: List[_Word] = []
        position, market, end = 0, False, 0
        for match in _WORD.finditer(text):
            if _CLAUSE_END.search(text, end, match.start()):
                market = False
            end = match.end()
            typed = match.group()
            compound = typed.casefold()
            if compound in _MARKET_MARKERS:
                market = True
            acronym = len(typed) >= 2 and typed.isupper()  # "IT", "PVC": never a stop word
            parts = [p for p in re.split(r"[-'’]", compound) if p]
            for part in parts:
                if compound_parts or len(parts) == 1:
                    self._add(found, part, part, position, market, acronym, languages, stop_languages, keep_stop)
                position += 1
            if len(parts) > 1:
                self._add(found, compound, "".join(parts), position - 1, market, acronym,
                          languages, stop_languages, keep_stop, len(parts))
        return found

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
        found.append(_Word(surface, key, position, market, stop, parts))

    def _lemma_is_stop(self, word: str, languages: Sequence[str], stop_language: str) -> bool:
        """"making" is a stop word as "make" is (the lemma of a word of the stop list's language)."""
        lemma, language = self.lemma(word, languages)
        return language == stop_language and strip_accents(lemma) in self.stop_words[stop_language]

    def language_order(self, text: str) -> Tuple[str, str]:
        """("en", "fr") or ("fr", "en"): the language with more of its own stop words first; with
        no difference there, the one whose dictionary alone knows more of the words."""
        words = _WORD.findall(_ELISION.sub(" ", text.casefold()))
        norms = [strip_accents(w) for w in words]
        en = sum(1 for w in norms if w in self.stop_words["en"] and w not in self.stop_words["fr"])
        fr = sum(1 for w in norms if w in self.stop_words["fr"] and w not in self.stop_words["en"])
        if en == fr:
            known = [(self.known_in(w, "en"), self.known_in(w, "fr")) for w in words]
            en = sum(1 for in_en, in_fr in known if in_en and not in_fr)
            fr = sum(1 for in_en, in_fr in known if in_fr and not in_en)
        return ("fr", "en") if fr > en else ("en", "fr")


_ANALYZER: Optional[_Analyzer] = None


def _shared_analyzer() -> _Analyzer:
    """The analyser (spaCy tables, loaded once per process: a knowledge reload reuses it)."""
    global _ANALYZER
    if _ANALYZER is None:
        _ANALYZER = _Analyzer()
    return _ANALYZER


@dataclass
class _Keyword:
    text: str
    language: str
    keys: Tuple[str, ...]  # its distinct scoring terms, in order
    # Stop words at its edges ("it" of "it services", "4.0" of "industry 4.0") and its generic
    # words: needed for the whole keyword, not scored.
    required: Tuple[str, ...]
    length: int  # words spanned (stop words included)

    @property
    def size(self) -> int:
        return len(self.keys) + len(self.required)


@dataclass
class _Item:
    field: str  # "description" | "strategy" | "members" | "scope"
    text: Text
    keys: Set[str]


@dataclass
class _ClusterIndex:
    cluster: Cluster
    weights: Dict[str, float]  # term -> best field weight
    keywords: List[_Keyword]
    items: List[_Item]  # strategy, members, scope items, then the description
    organisation: Dict[str, Tuple[float, Text, str, str]]  # type -> (strength, text, field, words)


@dataclass
class _Query:
    positions: Dict[str, List[int]]  # scoring term -> positions in the text
    stop_positions: Dict[str, List[int]]  # stop or generic word -> positions (completes keywords)
    surfaces: Dict[str, List[str]]  # term -> the words as typed (lower-cased)
    quality: Dict[str, float]  # term -> 1, or less (misspelt, compound, "for …" clause)


class ClusterRanker:
    """Builds the index of the knowledge base once; `rank()` then only analyses the user's text."""

    def __init__(self, knowledge: KnowledgeBase) -> None:
        self.knowledge = knowledge
        self._analyzer = _shared_analyzer()
        self._build(knowledge)

    # ----- index (built once) --------------------------------------------------------------
    def _analyse_document(self, text: str, language: str, keep_stop: bool = False) -> List[_Word]:
        """A knowledge text's words (used only while building the index)."""
        other = "fr" if language == "en" else "en"  # a word missing from one table: the other
        return self._analyzer.words(text, (language, other), (language,), keep_stop, compound_parts=False)

    def _text_keys(self, text: Text) -> Set[str]:
        return {w.key for language in ("en", "fr") for w in self._analyse_document(text.get(language), language)}

    def _keyword(self, text: str, language: str) -> Optional[_Keyword]:
        words = self._analyse_document(text, language, keep_stop=True)
        content = [w for w in words if not w.stop]
        if not words:
            return None
        if not content:  # a keyword that is a stop word ("it"): a term all the same
            content, edges = words, []
        else:
            first = words.index(content[0])
            last = len(words) - 1 - words[::-1].index(content[-1])
            edges = words[:first] + words[last + 1:]
        keys = tuple(dict.fromkeys(w.key for w in content))
        required = tuple(dict.fromkeys(w.key for w in edges if w.key not in keys))
        return _Keyword(text, language, keys, required, words[-1].position - words[0].position + 1)

    def _build(self, knowledge: KnowledgeBase) -> None:
        raw: List[Tuple[Cluster, List[_Keyword], List[_Item]]] = []
        document_frequency: Dict[str, int] = {}
        for cluster in knowledge.clusters:
            keywords = [
                keyword for language in ("en", "fr") for text in cluster.keywords.get(language, ())
                for keyword in [self._keyword(text, language)] if keyword is not None
            ]
            items = [
                _Item(field_name, item, self._text_keys(item))
                for field_name in ("strategy", "members", "scope")
                for item in (getattr(cluster, field_name).items if getattr(cluster, field_name) else ())
            ]
            items.append(_Item("description", cluster.description, self._text_keys(cluster.description)))
            terms = {k for keyword in keywords for k in keyword.keys} | {k for item in items for k in item.keys}
            for key in terms:
                document_frequency[key] = document_frequency.get(key, 0) + 1
            raw.append((cluster, keywords, items))

        count = len(knowledge.clusters)
        background = self._background_frequency(knowledge)
        paragraphs = max(1, background.pop("", 1))
        self.generic: Set[str] = {
            k for k, df in document_frequency.items()
            if df >= max(2, GENERIC_SHARE * count)
            or (df >= 2 and background.get(k, 0) >= BACKGROUND_SHARE * paragraphs)
        }
        self.idf: Dict[str, float] = {
            k: math.log(count / df) for k, df in document_frequency.items() if k not in self.generic
        }

        self._clusters: List[_ClusterIndex] = []
        self._keywords_by_key: Dict[str, List[Tuple[int, int]]] = {}
        for index, (cluster, keywords, items) in enumerate(raw):
            kept = []
            for keyword in keywords:
                # A generic word of a keyword ("technology" of "information technology") still
                # belongs to it: needed for the whole keyword, not scored.
                generic = tuple(k for k in keyword.keys if k not in self.idf and k not in keyword.required)
                keyword.keys = tuple(k for k in keyword.keys if k in self.idf)
                keyword.required += generic
                if keyword.keys:
                    kept.append(keyword)
            weights: Dict[str, float] = {}

            def give(keys: Iterable[str], weight: float) -> None:
                for key in keys:
                    weights[key] = max(weights.get(key, 0.0), weight)

            # A word of several of the cluster's multi-word keywords ("solar" of "solar panel",
            # "solar thermal"…) characterises it more than a word of one ("things").
            repeats: Dict[Tuple[str, str], int] = {}
            for keyword in kept:
                if keyword.size > 1:
                    for key in keyword.keys:
                        repeats[(key, keyword.language)] = repeats.get((key, keyword.language), 0) + 1
            for number, keyword in enumerate(kept):
                if keyword.size == 1:
                    give(keyword.keys, KEYWORD_WEIGHT)
                for key in keyword.keys if keyword.size > 1 else ():
                    share = min(repeats[(key, keyword.language)], PART_REPEAT_CAP) - 1
                    give((key,), KEYWORD_PART_WEIGHT * (1 + share / (PART_REPEAT_CAP - 1)))
                for key in keyword.keys:
                    self._keywords_by_key.setdefault(key, []).append((index, number))
            for item in items:
                item.keys = {k for k in item.keys if k in self.idf}
                give(item.keys, DESCRIPTION_WEIGHT if item.field == "description" else ITEM_WEIGHT)
            organisation = self._organisation_strengths(cluster)
            self._clusters.append(_ClusterIndex(cluster, weights, kept, items, organisation))

        # Misspellings and compounds: the indexed words (accent-stripped) with their term, and
        # the multi-word keywords written as one word ("datacentre") with their terms.
        self._surface_keys: Dict[str, Tuple[str, ...]] = {}
        for entry in self._clusters:
            for keyword in entry.keywords:
                joined = "".join(normalize(keyword.text).split())
                if keyword.size > 1 and not keyword.required and len(joined) >= FUZZY_MIN_LENGTH:
                    self._surface_keys.setdefault(joined, keyword.keys)
            texts = [k.text for k in entry.keywords] + [t for i in entry.items for t in (i.text.en, i.text.fr)]
            for text in texts:
                for word in normalize(text).split():
                    if len(word) >= FUZZY_MIN_LENGTH and not word.isdigit():
                        key = self._analyzer.key(word, ("en", "fr"))
                        if key in self.idf:
                            self._surface_keys.setdefault(word, (key,))
        self._surface_choices = sorted(self._surface_keys)
        # Terms of the knowledge's hyphenated compounds: the user's words are joined to meet
        # them ("bio based" -> "biobased").
        self._compound_terms = {
            w.key for entry in self._clusters
            for text in [k.text for k in entry.keywords] + [t for i in entry.items for t in (i.text.en, i.text.fr)]
            for w in self._analyzer.words(text, ("en", "fr"), (), compound_parts=False)
            if w.parts > 1 and w.key in self.idf
        }
        self._compound_keys = sorted(
            (k for k in self.idf if len(k) >= COMPOUND_MIN_LENGTH), key=lambda k: (-len(k), k)
        )
        self._correction_cache: Dict[Tuple[str, str], Tuple[str, ...]] = {}
        self._type_names = {t.id: t.name for t in knowledge.cluster_types}

    def _background_frequency(self, knowledge: KnowledgeBase) -> Dict[str, int]:
        """In how many of the general paragraphs about the policy each term appears (under ""
        the number of paragraphs)."""
        texts: List[Text] = []
        for cluster_type in knowledge.cluster_types:
            texts += [cluster_type.definition] + [note.text for note in cluster_type.notes]
        for topic in knowledge.topics.values():
            texts += [paragraph.text for paragraph in topic.paragraphs]
        frequency: Dict[str, int] = {"": len(texts)}
        for text in texts:
            for key in self._text_keys(text):
                frequency[key] = frequency.get(key, 0) + 1
        return frequency

    def _organisation_strengths(self, cluster: Cluster) -> Dict[str, Tuple[float, Text, str, str]]:
        """For each organisation type, how strongly the cluster's members or description state
        that it gathers that kind: (strength, the stating text, its field, the words found)."""
        texts = [(t, "members") for t in (cluster.members.items if cluster.members else ())]
        texts.append((cluster.description, "description"))
        found: Dict[str, Tuple[float, Text, str, str]] = {}
        for organisation, markers in _ORGANISATION_MARKERS.items():
            for marker, strength in markers:
                pattern = re.compile(rf"(?<!\w){re.escape(normalize(marker))}(?:s|es)?(?!\w)")
                stated = next(((t, f) for t, f in texts if pattern.search(normalize(f"{t.en} {t.fr}"))), None)
                if stated is not None and strength > found.get(organisation, (0.0,))[0]:
                    found[organisation] = (strength, stated[0], stated[1], marker)
        return found

    # ----- the user's text ---------------------------------------------------------------
    def _query(self, activity: str, context: Optional[str] = None) -> _Query:
        """The user's text as terms; `context` (default: the text) decides the language order."""
        languages = self._analyzer.language_order(activity if context is None else context)
        query = _Query({}, {}, {}, {})
        found: List[Tuple[_Word, float]] = []  # (word with its indexed term, match quality)
        words = self._analyzer.words(activity, languages, (languages[0],), keep_stop=True)
        words += self._joined_words(words, languages)
        # A compound whose joined form is indexed ("sous-traitance", "bio based") stands for
        # itself: its parts are not counted again.
        spans = [
            range(w.position - w.parts + 1, w.position + 1) for w in words if w.parts > 1 and w.key in self.idf
        ]
        words = [w for w in words if w.parts > 1 or not any(w.position in span for span in spans)]
        for word in words:
            if word.stop or word.key in self.generic:
                query.stop_positions.setdefault(word.key, []).append(word.position)
                query.surfaces.setdefault(word.key, []).append(word.surface)
            elif word.key in self.idf:
                found.append((word, 1.0))
            elif word.parts == 1 and strip_accents(word.surface) not in self._analyzer.stop_words[languages[1]]:
                for key in self._correct(word.surface, word.key):
                    found.append((_Word(word.surface, key, word.position, word.market), FUZZY_QUALITY))
        activity_found = any(not word.market for word, _ in found)
        for word, quality in found:
            if word.market and activity_found:
                quality *= MARKET_WEIGHT
            query.positions.setdefault(word.key, []).append(word.position)
            if word.surface not in query.surfaces.setdefault(word.key, []):
                query.surfaces[word.key].append(word.surface)
            query.quality[word.key] = max(query.quality.get(word.key, 0.0), quality)
        return query

    def _joined_words(self, words: List[_Word], languages: Sequence[str]) -> List[_Word]:
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
                if key in self._compound_terms:
                    last = group[-1]
                    surface = " ".join(w.surface for w in group)
                    found.append(_Word(surface, key, last.position, last.market, False, size))
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
            best = process.extractOne(norm, self._surface_choices, scorer=fuzz.ratio, score_cutoff=FUZZY_MIN_SCORE)
            if best is not None and best[0][0] == norm[0]:
                result = self._surface_keys[best[0]]
            elif len(key) >= FUZZY_MIN_LENGTH:
                best = process.extractOne(key, self._compound_keys, scorer=fuzz.ratio, score_cutoff=FUZZY_MIN_SCORE)
                if best is not None and best[0][0] == key[0]:
                    result = (best[0],)
                else:
                    result = next(
                        ((k,) for k in self._compound_keys if key.endswith(k) and len(key) - len(k) >= 3), ()
                    )
        self._correction_cache[cache_key] = result
        return result

    # ----- scores -------------------------------------------------------------------------
    def _whole_keywords(self, index: int, query: _Query) -> List[_Keyword]:
        """The cluster's multi-word keywords whose words are all in the text, close together."""
        entry = self._clusters[index]
        numbers = sorted({
            n for key in query.positions for (i, n) in self._keywords_by_key.get(key, ()) if i == index
        })
        found = []
        for number in numbers:
            keyword = entry.keywords[number]
            if keyword.size < 2:
                continue
            spots = []
            for key in keyword.keys + keyword.required:
                spot = query.positions.get(key, []) + query.stop_positions.get(key, [])
                if not spot:
                    break
                spots.append(spot)
            else:
                window = keyword.length + PHRASE_SLACK
                if any(all(any(abs(p - anchor) < window for p in spot) for spot in spots[1:]) for anchor in spots[0]):
                    found.append(keyword)
        return found

    def _activity_scores(
        self, activity: str
    ) -> Tuple[List[Tuple[_ClusterIndex, float, List[_Keyword]]], _Query]:
        """Every cluster's activity score (no bonus), with its keywords found whole."""
        query = self._query(activity or "")
        results = []
        for index, entry in enumerate(self._clusters):
            whole = self._whole_keywords(index, query) if query.positions else []
            phrase: Dict[str, float] = {}
            for keyword in whole:
                for key in keyword.keys:
                    phrase[key] = max(phrase.get(key, 0.0), _phrase_weight(keyword.size))
            score = sum(
                self.idf[key] * max(phrase.get(key, 0.0), entry.weights.get(key, 0.0)) * query.quality[key]
                for key in query.positions
            )
            results.append((entry, score, whole))
        return results, query

    def _bonus(
        self, entry: _ClusterIndex, organisation_type: Optional[str], goal: Optional[str]
    ) -> Tuple[float, List[Reason]]:
        factor, reasons = 1.0, []
        if organisation_type in entry.organisation:
            strength, text, field, marker = entry.organisation[organisation_type]
            factor += ORG_BONUS * strength
            reasons.append(Reason("member_type", field, text, (marker,)))
        if goal in _GOAL_TYPES and entry.cluster.type == _GOAL_TYPES[goal]:
            factor += GOAL_BONUS
            reasons.append(Reason("goal", "type", self._type_names[entry.cluster.type], (goal,)))
        return factor, reasons

    def _ordered(self, activity: str, organisation_type: Optional[str], goal: Optional[str]):
        results, query = self._activity_scores(activity)
        best = max((score for _, score, _ in results), default=0.0)
        scored = []
        for position, (entry, score, whole) in enumerate(results):
            factor, bonus_reasons = self._bonus(entry, organisation_type, goal)
            scored.append((score * factor, position, score, entry, whole, bonus_reasons))
        scored.sort(key=lambda s: (-round(s[0], 9), s[1]))  # equal scores: page order
        return scored, best, query

    def scores(
        self, activity: str, organisation_type: Optional[str] = None, goal: Optional[str] = None
    ) -> List[Tuple[str, float]]:
        """Every cluster with its score (bonuses included), best first, ties in page order."""
        scored, _, _ = self._ordered(activity, organisation_type, goal)
        return [(entry.cluster.id, total) for total, _, _, entry, _, _ in scored]

    def is_vague(self, activity: str) -> bool:
        """True when `activity` says nothing the clusters can be matched on ("stuff", "hello")."""
        _, best, _ = self._ordered(activity, None, None)
        return best < MIN_SCORE

    def rank(
        self, activity: str, organisation_type: Optional[str] = None, goal: Optional[str] = None
    ) -> Recommendation:
        """The best clusters for `activity`, with their reasons; `vague` when nothing matches well
        enough. `organisation_type` (ORGANISATION_TYPES) and `goal` (GOALS) only break near-ties."""
        scored, best, query = self._ordered(activity, organisation_type, goal)
        if best < MIN_SCORE:
            return Recommendation(matches=(), vague=True)
        top = scored[0][0]
        matches = []
        for total, _, score, entry, whole, bonus_reasons in scored[:MAX_MATCHES]:
            if score <= 0 or total < RUNNER_UP_SHARE * top:
                break
            reasons = self._reasons(entry, whole, query)
            # The member type and goal reasons come after the two strongest activity reasons, so
            # that a short explanation (the first three) still tells them.
            reasons = reasons[:SHOWN_ACTIVITY_REASONS] + bonus_reasons + reasons[SHOWN_ACTIVITY_REASONS:]
            matches.append(ClusterMatch(entry.cluster.id, round(total, 6), tuple(reasons)))
        return Recommendation(matches=tuple(matches), vague=False)

    def evidence(self, activity: str, result: Optional[Recommendation] = None,
                 plain_words: Iterable[str] = ()) -> Evidence:
        """The ranking's evidence for `activity` (see Evidence); `plain_words` are the words
        anyone uses to describe an activity ("we make", "company"), which explain nothing."""
        result = result if result is not None else self.rank(activity)
        plain = {normalize(w) for w in plain_words}
        reasons = [r for r in result.matches[0].reasons if r.kind in ("keyword", "page")] if result.matches else []
        # A plain word is no evidence, even where a cluster's text has it ("sign up": "digital signage").
        matched = tuple(dict.fromkeys(t for r in reasons for t in r.terms if normalize(t) not in plain))
        matched_words = {w for t in matched for w in normalize(t).split()}
        content = [w.surface for w in self._analyzer.words(activity, ("en", "fr"), ("en", "fr"))]
        unexplained = tuple(dict.fromkeys(
            w for w in content if normalize(w) not in matched_words and normalize(w) not in plain and not w.isdigit()))
        if not result.matches or not matched:
            return Evidence("none", (), unexplained)
        several = len(matched) >= 2 or any(len(normalize(t).split()) > 1 for t in matched)
        several = several and len(matched) >= STRONG_MIN_SHARE * (len(matched) + len(unexplained))
        alone = not unexplained and result.matches[0].score >= STRONG_SINGLE_SCORE
        if several or alone:
            level = "strong"
        else:
            level = "weak" if len(unexplained) <= WEAK_MAX_UNEXPLAINED else "unclear"
        return Evidence(level, matched, unexplained)

    # ----- reasons ------------------------------------------------------------------------
    def _reasons(self, entry: _ClusterIndex, whole: List[_Keyword], query: _Query) -> List[Reason]:
        matched = set(query.positions)

        def first_position(key: str) -> int:
            return min(query.positions.get(key, []) + query.stop_positions.get(key, []))

        def terms(keys: Iterable[str]) -> Tuple[str, ...]:
            ordered = sorted(keys, key=first_position)
            return tuple(dict.fromkeys(s for k in ordered for s in query.surfaces[k]))

        def strength(keys: Iterable[str], weight: float) -> float:
            return sum(self.idf.get(k, 0.0) * query.quality.get(k, 0.0) for k in keys) * weight

        found: List[Tuple[float, int, Reason]] = []
        covered: Set[str] = set()
        # Keywords found whole (multi-word ones, and one-word ones), an en/fr pair as one.
        keywords = list(whole) + [k for k in entry.keywords if k.size == 1 and k.keys[0] in matched]
        by_terms: Dict[Tuple[str, ...], Dict[str, str]] = {}
        for keyword in keywords:
            group = by_terms.setdefault(tuple(sorted(keyword.keys + keyword.required)), {})
            group.setdefault(keyword.language, keyword.text)
        for keys, texts in by_terms.items():
            en, fr = texts.get("en"), texts.get("fr")
            item = Text(en=en or fr, fr=fr or en)
            reason = Reason("keyword", "keywords", item, terms(keys))
            found.append((strength(keys, _phrase_weight(len(keys))), len(found), reason))
            covered.update(keys)
        # Page items (strategy, members, scope); the description for what they leave out.
        for item in entry.items:
            keys = item.keys & matched
            if item.field == "description":
                keys -= covered
            if keys:
                weight = DESCRIPTION_WEIGHT if item.field == "description" else ITEM_WEIGHT
                found.append((strength(keys, weight), len(found), Reason("page", item.field, item.text, terms(keys))))
                covered.update(keys)
        # Words found only inside a multi-word keyword.
        for keyword in entry.keywords:
            keys = (set(keyword.keys) & matched) - covered
            if keys:
                item = Text(en=keyword.text, fr=keyword.text)
                reason = Reason("keyword", "keywords", item, terms(keys))
                found.append((strength(keys, KEYWORD_PART_WEIGHT), len(found), reason))
                covered.update(keys)
        found.sort(key=lambda f: (-f[0], f[1]))
        return [reason for _, _, reason in found[:MAX_REASONS]]

    # ----- for tests and explanations -----------------------------------------------------
    def terms_of(self, text: str, context: Optional[str] = None) -> Set[str]:
        """The terms `text` stands for, as the ranking reads a user's text (misspellings and
        compounds resolved, stop words included), read as part of `context` if given."""
        query = self._query(text, context)
        return set(query.positions) | set(query.stop_positions)

    def item_terms(self, item: Text) -> Set[str]:
        """The terms of a knowledge text (both languages, stop words included)."""
        return {
            w.key for language in ("en", "fr")
            for w in self._analyse_document(item.get(language), language, keep_stop=True)
        }


_default_ranker: Optional[ClusterRanker] = None


def default_ranker() -> ClusterRanker:
    """A ranker of the knowledge base of `knowledge/`, built on first use."""
    global _default_ranker
    if _default_ranker is None:
        from kb.loader import load_knowledge

        _default_ranker = ClusterRanker(load_knowledge())
    return _default_ranker


def is_vague(activity: str, ranker: Optional[ClusterRanker] = None) -> bool:
    """True when `activity` says nothing the clusters can be matched on ("stuff", "hello")."""
    return (ranker or default_ranker()).is_vague(activity)
