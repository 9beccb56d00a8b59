"""The ranking's index of the knowledge base, built once: one document per cluster (description,
strategy, members and scope items, keywords; English and French) with each term's best field
weight (a one-word keyword counts most, then a page item, a word of multi-word keywords, the
description) and IDF weights over the cluster documents (rare words count more).

Generic words are left out of the scores by document frequency: those in at least half of the
cluster documents, and those shared by clusters that the general texts about the policy
(policy.yml) use often ("company", "network", "Wallonia"). The index also holds what the user's
words are looked up in: the indexed words (for misspellings) and the knowledge's compounds."""

import math
import re
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Set, Tuple

from kb.model import Cluster, KnowledgeBase, Text
from kb.recommend.analysis import Analyzer
from kb.text import normalize

# Field weights: how much a term counts according to where the cluster states it.
KEYWORD_WEIGHT = 1.0  # a one-word keyword
KEYWORD_PART_WEIGHT = 0.3  # a word of a multi-word keyword, found without the rest…
PART_REPEAT_CAP = 3  # … up to twice that when it is a word of this many of the cluster's keywords
ITEM_WEIGHT = 0.5  # a strategy / members / scope item of the page
DESCRIPTION_WEIGHT = 0.2  # the page's paragraph (prose: "know-how internationally renowned")
# A multi-word keyword found whole is one concept: each of its n words counts
# KEYWORD_WEIGHT x (1 + PHRASE_BONUS) / sqrt(n) ("wind turbine" is not two findings).
PHRASE_BONUS = 0.2
# Generic words, by document frequency (see the module docstring).
GENERIC_SHARE = 0.5  # of the cluster documents
BACKGROUND_SHARE = 0.1  # of the policy paragraphs, for a word of two clusters or more
FUZZY_MIN_LENGTH = 5  # shorter words are not looked up for misspellings
COMPOUND_MIN_LENGTH = 5  # an indexed term this long is recognised at the end of a compound

# The words by which the knowledge states that a cluster gathers a kind of member, looked for
# as whole words (plural -s/-es tolerated) in each cluster's members and description, both
# languages, accents and case ignored. Strength 1.0 for words naming exactly that kind, 0.5 for
# a broader kind (a start-up is a company).
ORGANISATION_MARKERS: Dict[str, Tuple[Tuple[str, float], ...]] = {
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


def phrase_weight(words: int) -> float:
    """The weight of each word of a keyword found whole (KEYWORD_WEIGHT for a one-word one)."""
    return KEYWORD_WEIGHT if words <= 1 else KEYWORD_WEIGHT * (1 + PHRASE_BONUS) / math.sqrt(words)


@dataclass
class Keyword:
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
class Item:
    field: str  # "description" | "strategy" | "members" | "scope"
    text: Text
    keys: Set[str]


@dataclass
class ClusterEntry:
    cluster: Cluster
    weights: Dict[str, float]  # term -> best field weight
    keywords: List[Keyword]
    items: List[Item]  # strategy, members, scope items, then the description
    organisation: Dict[str, Tuple[float, Text, str, str]]  # type -> (strength, text, field, words)


class KnowledgeIndex:
    """The clusters' documents as terms, with their weights; built once from the knowledge."""

    def __init__(self, knowledge: KnowledgeBase, analyzer: Analyzer) -> None:
        self._analyzer = analyzer
        self._build(knowledge)

    def _text_keys(self, text: Text) -> Set[str]:
        return {
            w.key for language in ("en", "fr") for w in self._analyzer.document_words(text.get(language), language)
        }

    def _keyword(self, text: str, language: str) -> Optional[Keyword]:
        words = self._analyzer.document_words(text, language, keep_stop=True)
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
        return Keyword(text, language, keys, required, words[-1].position - words[0].position + 1)

    def _build(self, knowledge: KnowledgeBase) -> None:
        raw: List[Tuple[Cluster, List[Keyword], List[Item]]] = []
        document_frequency: Dict[str, int] = {}
        for cluster in knowledge.clusters:
            keywords = [
                keyword for language in ("en", "fr") for text in cluster.keywords.get(language, ())
                for keyword in [self._keyword(text, language)] if keyword is not None
            ]
            items = [
                Item(field_name, item, self._text_keys(item))
                for field_name in ("strategy", "members", "scope")
                for item in (getattr(cluster, field_name).items if getattr(cluster, field_name) else ())
            ]
            items.append(Item("description", cluster.description, self._text_keys(cluster.description)))
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

        self.clusters: List[ClusterEntry] = []
        self.keywords_by_key: Dict[str, List[Tuple[int, int]]] = {}
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
                    self.keywords_by_key.setdefault(key, []).append((index, number))
            for item in items:
                item.keys = {k for k in item.keys if k in self.idf}
                give(item.keys, DESCRIPTION_WEIGHT if item.field == "description" else ITEM_WEIGHT)
            organisation = self._organisation_strengths(cluster)
            self.clusters.append(ClusterEntry(cluster, weights, kept, items, organisation))

        # Misspellings and compounds: the indexed words (accent-stripped) with their term, and
        # the multi-word keywords written as one word ("datacentre") with their terms.
        self.surface_keys: Dict[str, Tuple[str, ...]] = {}
        for entry in self.clusters:
            for keyword in entry.keywords:
                joined = "".join(normalize(keyword.text).split())
                if keyword.size > 1 and not keyword.required and len(joined) >= FUZZY_MIN_LENGTH:
                    self.surface_keys.setdefault(joined, keyword.keys)
            texts = [k.text for k in entry.keywords] + [t for i in entry.items for t in (i.text.en, i.text.fr)]
            for text in texts:
                for word in normalize(text).split():
                    if len(word) >= FUZZY_MIN_LENGTH and not word.isdigit():
                        key = self._analyzer.key(word, ("en", "fr"))
                        if key in self.idf:
                            self.surface_keys.setdefault(word, (key,))
        self.surface_choices = sorted(self.surface_keys)
        # Terms of the knowledge's hyphenated compounds: the user's words are joined to meet
        # them ("bio based" -> "biobased").
        self.compound_terms = {
            w.key for entry in self.clusters
            for text in [k.text for k in entry.keywords] + [t for i in entry.items for t in (i.text.en, i.text.fr)]
            for w in self._analyzer.words(text, ("en", "fr"), (), compound_parts=False)
            if w.parts > 1 and w.key in self.idf
        }
        self.compound_keys = sorted(
            (k for k in self.idf if len(k) >= COMPOUND_MIN_LENGTH), key=lambda k: (-len(k), k)
        )
        self.type_names = {t.id: t.name for t in knowledge.cluster_types}

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
        normalized = [normalize(f"{t.en} {t.fr}") for t, _ in texts]
        found: Dict[str, Tuple[float, Text, str, str]] = {}
        for organisation, markers in ORGANISATION_MARKERS.items():
            for marker, strength in markers:
                pattern = re.compile(rf"(?<!\w){re.escape(normalize(marker))}(?:s|es)?(?!\w)")
                stated = next((text for text, norm in zip(texts, normalized) if pattern.search(norm)), None)
                if stated is not None and strength > found.get(organisation, (0.0,))[0]:
                    found[organisation] = (strength, stated[0], stated[1], marker)
        return found

