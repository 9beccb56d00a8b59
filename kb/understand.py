"""Reads what a message asks beyond its intent, from the words people use (knowledge/vocabulary.yml)
and the knowledge itself: which attributes (in order, for questions in several parts), which fact
nobody has, what a follow-up points at among the clusters last shown, an ordering by founding date,
"cluster" in another sense, and the wrong premises a question is built on.

Plain Python: the NLU component (components/understanding.py) turns a `Reading` into entities,
and the actions resolve the clusters meant with `resolve_targets`."""

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import yaml
from rapidfuzz import fuzz, process

from kb.loader import DEFAULT_KNOWLEDGE_DIR, KnowledgeError, load_yaml
from kb.model import Cluster, KnowledgeBase
from kb.text import fold, normalize, stop_words

VOCABULARY_FILE = "vocabulary.yml"
SECTIONS = ("attributes", "unknown_facts", "references", "orders", "other_senses", "topics")
WORD_LISTS = ("in_scope", "cluster_words", "activity_words", "excluding", "including_before", "including_after",
              "joined_to_clusters", "counting", "in_general")
FORM_QUESTIONS = ("organisation_type", "goal")
# A typed word this close to an option's word (rapidfuzz ratio) stands for it ("universty").
OPTION_MIN_SCORE = 85
OPTION_MIN_LENGTH = 5
OVERVIEW = "overview"
# A word of at most this many policy paragraphs singles them out.
RARE_IN_PARAGRAPHS = 2
# A word this close to a word of a cluster's name (rapidfuzz ratio) is that name misspelt.
MISSPELT_NAME_RATIO = 85
# Where a message in several parts splits: "what is X, and when was it founded?".
_CLAUSE = re.compile(r"[,;?!.]+|\s(?:and|et|puis|also|aussi|plus|but|mais)\s")
ANY_WORD = "*"
LAST = 0  # a position: the last item, whatever the list's length

_ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13,
    "fourteenth": 14, "last": LAST,
    "premier": 1, "premiere": 1, "deuxieme": 2, "seconde": 2, "troisieme": 3,
    "quatrieme": 4, "cinquieme": 5, "sixieme": 6, "septieme": 7, "huitieme": 8, "neuvieme": 9,
    "dixieme": 10, "onzieme": 11, "douzieme": 12, "treizieme": 13, "quatorzieme": 14,
    "dernier": LAST, "derniere": LAST,
}
_NUMBER = re.compile(r"^(\d{1,2})(st|nd|rd|th|e|er|ere|eme)?$")
# "last" and "dernier" are a position after an article or before "one" ("the last one"), not as
# a verb ("how long does it last?"); a bare number after an article is a group ("les 2", "the 2").
_BEFORE_LAST = {"the", "this", "that", "le", "la", "ce", "cette"}
_BEFORE_GROUP = {"the", "les", "ces", "these", "those", "all", "tous", "toutes", "both"}
_ONE = {"one", "un", "une"}
# A bare number is a position after these words, or alone in a short message ("3 please"); in a
# longer one it is a quantity ("a salon with 3 employees").
_BEFORE_NUMBER = {"number", "numero", "no", "n", "nr", "nummer", "le", "la", "item", "option", "choice", "choix"}
SHORT_MESSAGE = 3
_YEAR = re.compile(r"\b(19[5-9]\d|20[0-4]\d)\b")
# "the 8 competitiveness clusters", "les 5 pôles": a count claimed for a cluster type.
_COUNT_BEFORE = re.compile(r"\b(\d{1,2}|two|three|four|five|six|seven|eight|nine|ten|deux|trois|quatre|cinq|six|sept|huit|neuf|dix)\s+$")
_NUMBER_WORDS = {"six": 6, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
                 "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "sept": 7, "huit": 8, "neuf": 9, "dix": 10}


def parse_position(text: str) -> Optional[int]:
    """The 1-based position a follow-up names ("the second one", "le dernier", "number 3"),
    `LAST`, or None."""
    words = normalize(text).split()
    for index, word in enumerate(words):
        before = words[index - 1] if index else ""
        after = words[index + 1] if index + 1 < len(words) else ""
        if word in _ORDINALS:
            if _ORDINALS[word] == LAST and before not in _BEFORE_LAST and after not in _ONE:
                continue
            return _ORDINALS[word]
        number = _NUMBER.match(word)
        if number and (number.group(2) or before in _BEFORE_NUMBER or len(words) <= SHORT_MESSAGE) \
                and not (number.group(2) is None and before in _BEFORE_GROUP and after not in _ONE):
            return int(number.group(1))
    return None


@dataclass(frozen=True)
class Reading:
    attributes: Tuple[str, ...] = ()  # in the order the message asks them
    unknown_facts: Tuple[str, ...] = ()
    references: Tuple[str, ...] = ()  # other, others, both, all, plural, filter, correction, same_sector
    order: Optional[str] = None  # oldest | newest
    other_sense: Optional[str] = None  # computing, science, medicine, other_region
    in_scope: bool = False  # words that keep the message about Wallonia's clusters
    topics: Tuple[str, ...] = ()  # policy topics asked for by their words
    cluster_word: bool = False  # "cluster", "pôle"…: ambiguous next to an other-sense word
    counting: bool = False  # "how many clusters…?"

    @property
    def out_of_scope(self) -> bool:
        """"Cluster" in another sense, or something else altogether, and nothing of Wallonia's."""
        if not self.other_sense or self.in_scope:
            return False
        return self.cluster_word


def _phrase_words(phrase: str) -> Tuple[str, ...]:
    """A vocabulary phrase as folded words, "*" kept as the word that stands for any one
    ("what does * do"): normalising the whole phrase would drop it as punctuation."""
    words: List[str] = []
    for piece in phrase.split():
        words += [ANY_WORD] if piece == ANY_WORD else [fold(w) for w in normalize(piece).split()]
    return tuple(words)


class _Phrases:
    """Phrases of one entry, matched on the folded words of a message."""

    def __init__(self, phrases: Iterable[str]) -> None:
        self.phrases = [_phrase_words(p) for p in phrases]
        self.phrases = [p for p in self.phrases if p]
        # Indexed by first word: a message is read on every turn, against some thousand phrases.
        self._by_first: Dict[str, List[Tuple[str, ...]]] = {}
        for phrase in self.phrases:
            self._by_first.setdefault(phrase[0], []).append(phrase)
        self._wild_first = self._by_first.pop(ANY_WORD, [])

    def spans(self, words: Sequence[str]) -> List[Tuple[int, int]]:
        """(start, end) of every place a phrase stands in the words."""
        found = []
        for start, word in enumerate(words):
            for phrase in (*self._by_first.get(word, ()), *self._wild_first):
                end = start + len(phrase)
                if end <= len(words) and all(p == ANY_WORD or p == w for p, w in zip(phrase[1:], words[start + 1:end])):
                    found.append((start, end))
        return found


class Understanding:
    """The vocabulary, compiled once."""

    def __init__(self, vocabulary: Dict[str, Dict[str, Dict[str, List[str]]]],
                 word_lists: Dict[str, Dict[str, List[str]]]) -> None:
        def phrases(words: Dict[str, List[str]]) -> _Phrases:
            return _Phrases(p for language in ("en", "fr") for p in words.get(language, ()))

        self._cluster_words = phrases(word_lists["cluster_words"])
        # Words that describe no activity in particular (kb/recommend/ranking.py Evidence).
        self.activity_words = tuple(w for language in ("en", "fr") for w in word_lists["activity_words"].get(language, ()))
        self._entries = {section: {key: phrases(words) for key, words in entries.items()}
                         for section, entries in vocabulary.items()}
        self._in_scope = phrases(word_lists["in_scope"])
        self._excluding = phrases(word_lists["excluding"])
        self._including_before = phrases(word_lists["including_before"])
        self._including_after = phrases(word_lists["including_after"])
        self._joined_to_clusters = phrases(word_lists["joined_to_clusters"])
        self._counting = phrases(word_lists["counting"])
        self._in_general = phrases(word_lists["in_general"])
        # The words of questions themselves, which say nothing of a cluster's activity.
        self._question_words = {w for entries in self._entries.values() for phrases in entries.values()
                                for phrase in phrases.phrases for w in phrase if w != ANY_WORD}
        self._attribute_words = {w for phrases in self._entries["attributes"].values()
                                 for phrase in phrases.phrases for w in phrase if w != ANY_WORD}
        self._question_words |= {fold(w) for p in self._in_scope.phrases for w in p}
        self._question_words |= {"cluster", "clusters", "which", "these", "those", "lesquel", "parmi", "celles", "ceux"}
        # a stop word singles out no paragraph (relevant_paragraphs)
        self._stop_words = stop_words("en") | stop_words("fr")

    @classmethod
    def from_data(cls, data: Dict[str, Any]) -> "Understanding":
        understanding = cls({section: data[section] for section in SECTIONS},
                            {name: data[name] for name in WORD_LISTS})
        understanding._options = {
            question: {option: _Phrases(p for language in ("en", "fr") for p in words[language])
                       for option, words in data["form_answers"][question].items()}
            for question in FORM_QUESTIONS
        }
        return understanding

    def form_answer(self, question: str, text: str) -> Optional[str]:
        """The option of a guided-dialogue question that a typed answer says ("a universty lab":
        research), or None when no option, or two equally, are said."""
        words = [fold(w) for w in normalize(text).split()]
        words = [self._option_word(question, w) for w in words]
        counts = {option: len(phrases.spans(words)) for option, phrases in self._options[question].items()}
        best = max(counts.values(), default=0)
        winners = [option for option, count in counts.items() if count == best]
        return winners[0] if best and len(winners) == 1 else None

    def _option_word(self, question: str, word: str) -> str:
        """The option word a typed word is a misspelling of, else the word itself."""
        if len(word) < OPTION_MIN_LENGTH:
            return word
        known = {w for phrases in self._options[question].values() for p in phrases.phrases for w in p}
        if word in known:
            return word
        match = process.extractOne(word, known, scorer=fuzz.ratio, score_cutoff=OPTION_MIN_SCORE)
        return match[0] if match else word

    def _found(self, section: str, words: Sequence[str]) -> List[str]:
        """The entry keys of a section found in the words, in the order they appear; where two
        phrases overlap, the longer one counts ("type of companies" is about members, not type)."""
        spans = sorted(
            ((start, end, key) for key, phrases in self._entries[section].items() for start, end in phrases.spans(words)),
            key=lambda span: (-(span[1] - span[0]), span[0]),
        )
        taken: List[Tuple[int, int, str]] = []
        for start, end, key in spans:
            if all(end <= s or e <= start for s, e, _ in taken):
                taken.append((start, end, key))
        return list(dict.fromkeys(key for _, _, key in sorted(taken)))

    def read(self, text: str) -> Reading:
        words = [fold(w) for w in normalize(text).split()]
        orders = self._found("orders", words)
        senses = self._found("other_senses", words)
        references = self._found("references", words)
        attributes = self._attributes(text)
        if "same_sector" in references:  # "the other pole of the same sector" asks for no sector
            attributes = tuple(a for a in attributes if a != "sector")
        return Reading(
            attributes=attributes,
            unknown_facts=tuple(self._found("unknown_facts", _unstated(words))),
            references=tuple(references),
            order=orders[0] if orders else None,
            other_sense=senses[0] if senses else None,
            in_scope=bool(self._in_scope.spans(words)),
            topics=tuple(self._found("topics", words)),
            cluster_word=bool(self._cluster_words.spans(words)),
            counting=self._counts_clusters(words),
        )

    def _counts_clusters(self, words: Sequence[str]) -> bool:
        """"How many clusters…?", "combien de pôles": a counting phrase, then a cluster word
        (articles between), not "how many members does the cluster have?"."""
        starts = {start for start, _ in self._cluster_words.spans(words)}
        for _, end in self._counting.spans(words):
            while end < len(words) and words[end] in _SKIPPED | {"of", "business", "competitiveness"}:
                end += 1
            if end in starts:
                return True
        return False

    def in_general(self, text: str) -> bool:
        """Whether a question is asked of clusters in general ("how does one join a cluster?")."""
        return bool(self._in_general.spans(_words(text)))

    def set_aside(self, before: str) -> bool:
        """Whether the words just before a name set it aside: "not BioWin", "pas les pôles"."""
        return _ends_with(self._excluding, _words(before))

    def asked_type(self, text: str, mentions: Sequence[Tuple[str, int, int]], type_ids: Sequence[str]) -> Optional[str]:
        """The one cluster type a list asks for, from the types the text names ((type, start, end)
        spans): the one named; the other one when a type is named only to be set aside ("the
        clusters, not the poles"); none, for the whole list, when both are named or one is named
        alongside the others ("the clusters and poles", "poles included")."""
        named, excluded, alongside = set(), set(), False
        for type_id, start, end in mentions:
            if self.set_aside(text[:start]):
                excluded.add(type_id)
                continue
            named.add(type_id)
            before, after = _words(text[:start]), [fold(w) for w in normalize(text[end:]).split()]
            joined = _ends_with(self._joined_to_clusters, before) and _ends_with(self._cluster_words, _drop_last(before))
            alongside |= joined or _ends_with(self._including_before, before) or any(
                after[:len(p)] == list(p) for p in self._including_after.phrases)
        kept = named - excluded
        if alongside and not excluded:
            return None
        if excluded and not kept:
            others = [t for t in type_ids if t not in excluded]
            return others[0] if len(others) == 1 else None
        return next(iter(kept)) if len(kept) == 1 else None

    def _attributes(self, text: str) -> Tuple[str, ...]:
        """The attributes asked, part by part: "what is it" counts only in a part of the message
        that asks nothing else ("what is the website of X" asks for the website)."""
        found: List[str] = []
        for clause in _CLAUSE.split(text.casefold()):
            asked = self._found("attributes", [fold(w) for w in normalize(clause).split()])
            if len(asked) > 1 and OVERVIEW in asked:
                asked.remove(OVERVIEW)
            found += [a for a in asked if a not in found]
        return tuple(found)

    def entity_values(self, text: str, reading: Optional[Reading] = None) -> List[Tuple[str, str]]:
        """The reading (`read(text)` unless given) as (entity, value) pairs, as the NLU gives them
        to the dialogue."""
        reading = reading if reading is not None else self.read(text)
        pairs = [("attribute", a) for a in reading.attributes] + [("unknown_fact", f) for f in reading.unknown_facts]
        pairs += [("reference", r) for r in reading.references]
        pairs += [("order", reading.order)] if reading.order else []
        pairs += [("other_sense", reading.other_sense)] if reading.other_sense else []
        pairs += [("topic", t) for t in reading.topics]
        pairs += [("counting", "clusters")] if reading.counting else []
        position = parse_position(text)
        return pairs + ([("position", str(position))] if position is not None else [])

    def relevant_paragraphs(self, paragraphs: Sequence[Any], text: str, corpus: Sequence[Any],
                            by_rare_words: bool = True, attribute_words_count: bool = False) -> List[int]:
        """The indexes of the paragraphs that hold one of the question's rare words (rare in the
        whole `corpus` of paragraphs): "when did the poles get the ESCA label?" is answered by its
        paragraph, not by the whole topic. Empty when no word singles any out. The words that ask
        for an attribute ("missions") count only with `attribute_words_count`, when looking beyond
        the topics the question names."""
        def words_of(paragraph: Any) -> set:
            return {fold(w) for language in ("en", "fr") for w in normalize(paragraph.text.get(language)).split()}

        # a paragraph holding "there" or "selon" is no answer to "is there a decree?" or "quelles
        # missions selon le décret ?"
        asked = {fold(w) for w in normalize(text).split()
                 if (len(w) >= 3 or any(c.isdigit() for c in w)) and w not in self._stop_words}
        asked -= self._question_words - (self._attribute_words if attribute_words_count else set())
        corpus_words = [words_of(p) for p in corpus]
        rare = {w for w in asked if 0 < sum(w in c for c in corpus_words) <= RARE_IN_PARAGRAPHS} if by_rare_words else set()
        # "its budget?": where the sources disagree on it, that is the answer.
        facts = set(self.read(text).unknown_facts)
        return [i for i, p in enumerate(paragraphs)
                if rare & words_of(p) or (p.disputed and facts & set(self.read(p.text.en).unknown_facts))]

    def distinctive_paragraphs(self, topic: Any, text: str) -> List[int]:
        """The paragraphs of a topic that share the most of the question's words, counting only
        the words found in fewer than half of its paragraphs and not in its title ("how long does
        a recognition last?": the decree's paragraph). Empty when no such word is asked."""
        def stems(value: str) -> set:
            return {fold(w)[:6] for w in normalize(value).split() if len(w) >= 4}

        # the short question words ask nothing of a paragraph ("what's it about?"); the long ones
        # ("recognition", "décret") name what a paragraph tells
        asking = {fold(w)[:6] for w in self._question_words if len(w) < 6}
        asked = stems(text) - stems(topic.title.en) - stems(topic.title.fr) - asking
        held = [stems(p.text.en) | stems(p.text.fr) for p in topic.paragraphs]
        distinctive = {w for w in asked if 0 < sum(w in h for h in held) < len(held) / 2}
        scores = [len(distinctive & h) for h in held]
        best = max(scores, default=0)
        return [i for i, score in enumerate(scores) if best and score == best]

    def matching_lists(self, cluster: Cluster, text: str, ignore: Iterable[str] = ()) -> List[str]:
        """The cluster's lists (strategy, members, scope) that share a content word with the text
        (an item's or the list's label): a question in the words of a list is about that list."""
        ignored = {fold(w) for name in ignore for w in normalize(name).split()}
        words = {fold(w) for w in normalize(text).split() if len(w) >= 5} - ignored
        found = []
        for field_name in ("strategy", "members", "scope"):
            items = getattr(cluster, field_name)
            if items is None:
                continue
            # the items' words, and the list's own name ("its means of action?")
            item_words = {fold(w) for item in (*items.items, items.label) for language in ("en", "fr")
                          for w in normalize(item.get(language)).split() if len(w) >= 5}
            if _share_a_stem(words, item_words):
                found.append(field_name)
        return found

    def mentions(self, cluster: Cluster, text: str) -> bool:
        """Whether the text's own words (not the vocabulary's question words) stand in the
        cluster's description, lists or keywords: "which of these work on composites?"."""
        words = {fold(w) for w in normalize(text).split() if len(w) >= 5} - self._question_words
        if not words:
            return False
        texts = [cluster.description.en, cluster.description.fr, cluster.summary.en, cluster.summary.fr]
        for items in (cluster.strategy, cluster.members, cluster.scope):
            texts += [t for item in (items.items if items else ()) for t in (item.en, item.fr)]
        texts += [k for language in ("en", "fr") for k in cluster.keywords.get(language, ())]
        cluster_words = {fold(w) for t in texts for w in normalize(t).split() if len(w) >= 5}
        return _share_a_stem(words, cluster_words)


    def answering_sentences(self, cluster: Cluster, text: str, language: str) -> List[str]:
        """The sentences of the cluster's page paragraph, in `language`, that hold a word of the
        question other than the cluster's name and the question words: what a short first answer
        must say to "what waste does Val+ deal with?" (an alias's words, "waste cluster", count)."""
        names = {fold(w) for w in normalize(cluster.name).split()}
        words = {fold(w) for w in normalize(text).split() if len(w) >= 5} - self._question_words
        # the name, however written ("skywinn"), but not a word of its field ("photonics")
        words = {w for w in words if not any(fuzz.ratio(w, name) >= MISSPELT_NAME_RATIO for name in names)}
        if not words:
            return []
        sentences = _SENTENCE_END.split(cluster.description.get(language))
        return [s for s in sentences if _share_a_stem(words, {fold(w) for w in normalize(s).split() if len(w) >= 5})]


# Where a sentence of a page paragraph ends.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z«“])")

# Articles between a word and the name it speaks of ("not *the* poles").
_SKIPPED = {"the", "a", "an", "le", "la", "les", "des", "du", "de", "un", "une", "l", "d"}


def _unstated(words: Sequence[str]) -> List[str]:
    """The words, but those a number states ("a salon with 3 employees" asks no headcount)."""
    return ["" if i and words[i - 1].isdigit() else w for i, w in enumerate(words)]


def _words(text: str) -> List[str]:
    return [fold(w) for w in normalize(text).split()]


def _without_trailing_articles(words: Sequence[str]) -> List[str]:
    words = list(words)
    while words and words[-1] in _SKIPPED:
        words.pop()
    return words


def _drop_last(words: Sequence[str]) -> List[str]:
    """The words without their last one, articles after it aside ("clusters and the" -> "clusters")."""
    return _without_trailing_articles(words)[:-1]


def _ends_with(phrases: "_Phrases", words: Sequence[str]) -> bool:
    """Whether the words end with one of the phrases, articles after it aside."""
    words = _without_trailing_articles(words)
    return any(len(words) >= len(p) and tuple(words[-len(p):]) == p for p in phrases.phrases)


def _share_a_stem(words: Iterable[str], others: Iterable[str], stem: int = 6) -> bool:
    """True when two words are equal, or share their first `stem` letters (composite/composites)."""
    others = set(others)
    prefixes = {w[:stem] for w in others if len(w) >= stem}
    return any(w in others or (len(w) >= stem and w[:stem] in prefixes) for w in words)


def read_vocabulary(directory: Path = DEFAULT_KNOWLEDGE_DIR) -> Dict[str, Any]:
    """knowledge/vocabulary.yml as data, checked: a malformed entry stops with its file, entry
    and problem."""
    path = Path(directory) / VOCABULARY_FILE
    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise KnowledgeError(path, "(file)", f"invalid YAML: {error}") from None
    if not isinstance(data, dict):
        raise KnowledgeError(path, "(file)", "must be a mapping of sections")
    for section in SECTIONS:
        entries = data.get(section)
        if not isinstance(entries, dict) or not entries:
            raise KnowledgeError(path, section, "missing section, or not a mapping of entries")
        for key, words in entries.items():
            _check_words(path, f"{section}.{key}", words)
    for section in WORD_LISTS:
        _check_words(path, section, data.get(section))
    answers = data.get("form_answers")
    if not isinstance(answers, dict) or set(answers) != set(FORM_QUESTIONS):
        raise KnowledgeError(path, "form_answers", f"needs the questions {', '.join(FORM_QUESTIONS)}")
    for question, options in answers.items():
        if not isinstance(options, dict) or not options:
            raise KnowledgeError(path, f"form_answers.{question}", "must be a mapping of options")
        for option, words in options.items():
            _check_words(path, f"form_answers.{question}.{option}", words)
    unknown = set(data) - set(SECTIONS) - set(WORD_LISTS) - {"form_answers"}
    if unknown:
        raise KnowledgeError(path, sorted(unknown)[0], "unknown section")
    return data


def load_understanding(directory: Path = DEFAULT_KNOWLEDGE_DIR) -> "Understanding":
    return Understanding.from_data(read_vocabulary(directory))


def _check_words(path: Path, entry: str, words: object) -> None:
    if not isinstance(words, dict) or set(words) != {"en", "fr"}:
        raise KnowledgeError(path, entry, "needs 'en' and 'fr' lists of phrases")
    for language, phrases in words.items():
        if not isinstance(phrases, list) or not phrases:
            raise KnowledgeError(path, entry, f"'{language}' must be a non-empty list of phrases")
        for phrase in phrases:
            if not isinstance(phrase, str) or not normalize(phrase):
                raise KnowledgeError(path, entry, f"'{language}' has an empty or non-text phrase: {phrase!r}")


# ----- the clusters a follow-up means ---------------------------------------------------------

@dataclass(frozen=True)
class Targets:
    clusters: Tuple[str, ...]  # the clusters meant, in the order to answer them
    how: str  # named | position | other | group | filter | order | focus | none
    undated: Tuple[str, ...] = ()  # for an ordering: the clusters whose founding date is unknown


_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
           "november", "december")
_MONTH_YEAR = re.compile(rf"\b({'|'.join(_MONTHS)})\s+(\d{{4}})\b", re.IGNORECASE)


def founding_year(cluster: Cluster) -> Optional[int]:
    """The first year its founding fact gives, or None when nobody gives one."""
    if cluster.founded is None:
        return None
    year = _YEAR.search(cluster.founded.text.en)
    return int(year.group(1)) if year else None


def founding_date(cluster: Cluster) -> Optional[Tuple[int, int]]:
    """(year, month) of its founding, the month 0 when only the year is given: TWEED (March 2008)
    is older than Plastiwin (December 2008)."""
    year = founding_year(cluster)
    if year is None:
        return None
    dated = _MONTH_YEAR.search(cluster.founded.text.en)
    month = _MONTHS.index(dated.group(1).lower()) + 1 if dated and int(dated.group(2)) == year else 0
    return year, month


def resolve_targets(
    reading: Reading, named: Sequence[str], shown: Sequence[str], focus: Optional[str], position: Optional[int],
    knowledge: KnowledgeBase, filters: Dict[str, Optional[str]], matches: Optional[Sequence[str]] = None,
) -> Targets:
    """Which clusters a message means, from what it names and the conversation state: the clusters
    last shown (in order) and the one in focus. `filters` holds a sector and a cluster type the
    message names; `matches` the shown clusters whose texts match the message's other words."""
    references = set(reading.references)
    shown = [c for c in shown if knowledge.cluster(c)]
    others = [c for c in shown if c != focus]
    if "same_sector" in references and focus and knowledge.cluster(focus):
        filters = {**filters, "sector": knowledge.cluster(focus).sector}
    if "others" in references and not named and len(others) >= 2:  # "are the other two poles?"
        return Targets(tuple(_filtered(others, filters, knowledge) if "filter" in references else others), "group")
    if references & {"correction", "other"} and not named:
        meant = _corrected(references, shown, others, focus, knowledge, filters, matches)
        if meant:
            return Targets((meant,), "other")
    if reading.order and len(named) >= 2:  # "did BioWin come before GreenWin?"
        return _ordered(named, reading.order, knowledge)
    if named:
        return Targets(tuple(named), "named")
    if reading.order and len(shown) >= 2:
        return _ordered(shown, reading.order, knowledge)
    if position is not None and shown:
        index = len(shown) - 1 if position == LAST else position - 1
        if 0 <= index < len(shown):
            return Targets((shown[index],), "position")
    if "other" in references and len(others) == 1:
        return Targets((others[0],), "other")
    grouped = references & {"both", "all", "plural", "filter"}
    if grouped and len(shown) >= 2:
        if any(filters.values()) and "filter" not in references:  # "are both poles?": asked of each
            return Targets(tuple(shown), "group")
        if any(filters.values()):
            return Targets(tuple(_filtered(shown, filters, knowledge)), "filter")
        if "filter" in references and matches is not None:
            return Targets(tuple(c for c in shown if c in matches), "filter")
        if references & {"both", "all", "plural"}:
            return Targets(tuple(shown), "group")
    if reading.order:
        return _ordered([c.id for c in knowledge.clusters], reading.order, knowledge)
    if focus and knowledge.cluster(focus):
        return Targets((focus,), "focus")
    return Targets((), "none")


def _corrected(references: set, shown: Sequence[str], others: Sequence[str], focus: Optional[str],
               knowledge: KnowledgeBase, filters: Dict[str, Optional[str]], matches: Optional[Sequence[str]]) -> Optional[str]:
    """The cluster a correction or "the other one" means: among the others shown, else among all
    the clusters not shown, the one that fits the type, the sector and the words the message gives
    ("no, I meant the pole doing recycling"); None when no single one fits."""
    def fitting(pool: Sequence[str]) -> List[str]:
        pool = _filtered(pool, filters, knowledge) if any(filters.values()) else list(pool)
        described = [c for c in pool if matches and c in matches]
        return described or pool

    near = fitting(others)
    if len(near) == 1 or (near and "other" in references):
        return near[0]
    wider = fitting([c.id for c in knowledge.clusters if c.id != focus and c.id not in shown])
    return wider[0] if len(wider) == 1 else None


def _filtered(clusters: Sequence[str], filters: Dict[str, Optional[str]], knowledge: KnowledgeBase) -> List[str]:
    sector, cluster_type = filters.get("sector"), filters.get("cluster_type")
    return [
        c for c in clusters
        if (sector is None or knowledge.cluster(c).sector == sector)
        and (cluster_type is None or knowledge.cluster(c).type == cluster_type)
    ]


def _ordered(clusters: Sequence[str], order: str, knowledge: KnowledgeBase) -> Targets:
    dated = [(founding_date(knowledge.cluster(c)), i, c) for i, c in enumerate(clusters)]
    known = sorted((date, i, c) for date, i, c in dated if date is not None)
    if order == "newest":
        known = sorted(known, key=lambda t: ((-t[0][0], -t[0][1]), t[1]))
    undated = tuple(c for year, _, c in dated if year is None)
    return Targets(tuple(c for _, _, c in known), "order", undated)


# ----- wrong premises ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Correction:
    kind: str  # type | sector | year | count
    cluster: Optional[str]  # None for a count of a type
    claimed: str  # the wrong value: a type id, a sector id, a year or a count
    actual: str  # the right one
    cluster_type: Optional[str] = None  # for a count: the type counted


def premise_corrections(
    text: str, clusters: Sequence[str], types: Sequence[str], sectors: Sequence[str], knowledge: KnowledgeBase,
) -> List[Correction]:
    """The wrong facts a message takes for granted about the clusters it names: another type, another
    sector, another founding year, or a wrong count of a cluster type."""
    corrections: List[Correction] = []
    if len(clusters) == 1:
        cluster = knowledge.cluster(clusters[0])
        for type_id in types:
            if type_id != cluster.type:
                corrections.append(Correction("type", cluster.id, type_id, cluster.type))
        for sector_id in sectors:
            if sector_id != cluster.sector:
                corrections.append(Correction("sector", cluster.id, sector_id, cluster.sector))
        year = founding_year(cluster)
        claimed = [int(y) for y in _YEAR.findall(text)]
        if year is not None and claimed and year not in claimed and all(abs(y - year) > 1 for y in claimed):
            corrections.append(Correction("year", cluster.id, str(claimed[0]), str(year)))
    normalized = normalize(text)
    for type_id in types:
        cluster_type = knowledge.cluster_type(type_id)
        count = len(knowledge.clusters_of(cluster_type=type_id))
        for alias in sorted({normalize(a) for a in cluster_type.aliases}, key=len, reverse=True):
            match = re.search(rf"(?<!\w){re.escape(alias)}(?!\w)", normalized)
            if not match:
                continue
            before = _COUNT_BEFORE.search(normalized[: match.start()])
            if before and normalized[: before.start()].split()[-1:] in (["other"], ["autres"], ["these"], ["those"]):
                before = None  # "are the other two poles?" claims no count
            if before:
                word = before.group(1)
                claimed_count = int(word) if word.isdigit() else _NUMBER_WORDS[word]
                if claimed_count != count:
                    corrections.append(Correction("count", None, str(claimed_count), str(count), type_id))
            break
    return corrections
