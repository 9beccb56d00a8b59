"""Finds the names of clusters, sectors and cluster types in a message, however they are
written: case, accents, spacing ("bio win"), aliases ("the ICT cluster") and misspellings
("skywinn", "mecatec"). Built from the knowledge base only, so a cluster added to the YAML is
recognised with no other edit."""

from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Tuple

from rapidfuzz import fuzz, process

from kb.model import KnowledgeBase
from kb.text import Token, normalize, tokenize

MAX_ALIAS_TOKENS = 6
FUZZY_MIN_LENGTH = 5  # shorter words are too often other words one letter away
FUZZY_MIN_SCORE = 86
FUZZY_MAX_TOKENS = 2
FUZZY_MIN_WORD_SCORE = 70
GENERIC_WORD_OWNERS = 3


@dataclass(frozen=True)
class NameEntry:
    entity: str  # "cluster", "sector" or "cluster_type"
    value: str  # the canonical id
    alias: str


@dataclass(frozen=True)
class NameMatch:
    entity: str
    value: str
    start: int
    end: int
    text: str
    score: float  # 100 for an exact (normalised) match


def entries_from_knowledge(knowledge: KnowledgeBase) -> List[NameEntry]:
    """Every name the knowledge base gives, as (entity, canonical id, alias)."""
    entries = []
    for cluster in knowledge.clusters:
        for alias in (cluster.name, *cluster.aliases):
            entries.append(NameEntry("cluster", cluster.id, alias))
    for sector in knowledge.sectors:
        for alias in (sector.name.en, sector.name.fr, *sector.aliases):
            entries.append(NameEntry("sector", sector.id, alias))
    for cluster_type in knowledge.cluster_types:
        # Aliases only: a type's display name can be a generic word ("clusters" in French).
        for alias in cluster_type.aliases:
            entries.append(NameEntry("cluster_type", cluster_type.id, alias))
    return entries


class NameMatcher:
    def __init__(self, entries: Iterable[NameEntry], fuzzy_entities: Optional[Iterable[str]] = None) -> None:
        """`fuzzy_entities`: the entities whose misspellings are matched too (default: all)."""
        fuzzy_entities = None if fuzzy_entities is None else set(fuzzy_entities)
        # Exact keys: the alias's tokens joined with and without spaces ("bio win", "biowin").
        self._exact: Dict[str, NameEntry] = {}
        self._fuzzy_keys: Dict[str, NameEntry] = {}
        for entry in entries:
            words = normalize(entry.alias).split()
            if not words:
                continue
            for key in (" ".join(words), "".join(words)):
                self._exact.setdefault(key, entry)
            joined = "".join(words)
            if len(joined) >= FUZZY_MIN_LENGTH and (fuzzy_entities is None or entry.entity in fuzzy_entities):
                self._fuzzy_keys.setdefault(joined, entry)
        self._fuzzy_choices = list(self._fuzzy_keys)
        # Words shared by the names of several things ("cluster", "pole", "de") carry no name:
        # a misspelt name is looked for only in windows free of them ("this cluster" is no name).
        owners: Dict[str, set] = {}
        for key, entry in self._exact.items():
            for word in key.split():
                owners.setdefault(word, set()).add(entry.value)
        self._generic_words = {word for word, values in owners.items() if len(values) >= GENERIC_WORD_OWNERS}

    def find(self, text: str) -> List[NameMatch]:
        """Non-overlapping matches, longest and exact first, in text order."""
        tokens = tokenize(text)
        taken = [False] * len(tokens)
        matches: List[NameMatch] = []
        for exact in (True, False):
            for size in range(min(MAX_ALIAS_TOKENS, len(tokens)), 0, -1):
                for first in range(len(tokens) - size + 1):
                    window = range(first, first + size)
                    if any(taken[i] for i in window):
                        continue
                    found = self._lookup(tokens[first:first + size], exact)
                    if found is None:
                        continue
                    entry, score = found
                    start, end = tokens[first].start, tokens[first + size - 1].end
                    matches.append(NameMatch(entry.entity, entry.value, start, end, text[start:end], score))
                    for i in window:
                        taken[i] = True
        return sorted(matches, key=lambda m: m.start)

    def _lookup(self, window: List[Token], exact: bool) -> Optional[Tuple[NameEntry, float]]:
        spaced = " ".join(t.norm for t in window)
        joined = spaced.replace(" ", "")
        if exact:
            entry = self._exact.get(spaced) or self._exact.get(joined)
            return (entry, 100.0) if entry else None
        if len(window) > FUZZY_MAX_TOKENS or len(joined) < FUZZY_MIN_LENGTH:
            return None
        if any(t.norm in self._generic_words for t in window):
            return None
        best = process.extractOne(joined, self._fuzzy_choices, scorer=fuzz.ratio, score_cutoff=FUZZY_MIN_SCORE)
        # Misspellings rarely touch the first letter; requiring it keeps "wealth" from "health".
        if best is None or best[0][0] != joined[0]:
            return None
        entry = self._fuzzy_keys[best[0]]
        # Word for word when the counts agree: "pour aéronautique" is not "pôle aéronautique".
        alias_words = normalize(entry.alias).split()
        if len(window) > 1 and len(alias_words) == len(window):
            if any(fuzz.ratio(t.norm, w) < FUZZY_MIN_WORD_SCORE for t, w in zip(window, alias_words)):
                return None
        return entry, float(best[1])

    def closest(self, text: str, entity: str = "cluster", limit: int = 3) -> List[Tuple[str, float]]:
        """The ids of the `entity` names closest to `text` (for "did you mean…?"), best first."""
        query = normalize(text).replace(" ", "")
        if not query:
            return []
        best: Dict[str, float] = {}
        for key, entry in self._exact.items():
            if entry.entity != entity or " " in key:
                continue
            score = fuzz.ratio(query, key)
            if len(query) >= FUZZY_MIN_LENGTH:  # "photon" for "clusterphotonique"
                score = max(score, fuzz.partial_ratio(query, key) * 0.9)
            if score > best.get(entry.value, 0.0):
                best[entry.value] = score
        ranked = sorted(best.items(), key=lambda item: (-item[1], item[0]))
        return ranked[:limit]
