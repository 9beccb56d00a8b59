"""Scores and ranks the clusters for an activity message, with the reasons of each match and the
ranking's evidence.

The score of a cluster is the sum over the user's terms of IDF x field weight x match quality. A
multi-word keyword found whole ("injection moulding", its words close together, its edge stop
words too: "IT services") is one strong concept: its n words count (1 + PHRASE_BONUS) / sqrt(n)
each. The organisation type and the goal multiply a cluster's score by at most 1 + MAX_BONUS: they
reorder near-ties only, and never turn a zero into a match. A text whose best score stays under
MIN_SCORE is vague. Runners-up are kept when they reach RUNNER_UP_SHARE of the top score. Equal
scores keep page order."""

from dataclasses import dataclass, field as data_field
from typing import Dict, Iterable, List, Optional, Set, Tuple

from kb.model import KnowledgeBase, Text
from kb.recommend.analysis import shared_analyzer
from kb.recommend.excerpt import passage, user_phrases
from kb.recommend.index import (
    ORGANISATION_MARKERS,
    DESCRIPTION_WEIGHT,
    ITEM_WEIGHT,
    KEYWORD_PART_WEIGHT,
    ClusterEntry,
    Keyword,
    KnowledgeIndex,
    phrase_weight,
)
from kb.recommend.query import Query, QueryReader
from kb.text import fold, normalize

ORGANISATION_TYPES = ("company", "startup", "research", "training", "public", "other")
GOALS = ("rnd", "network", "visibility", "training", "unsure")

PHRASE_SLACK = 3  # the words of a multi-word keyword may be this many extra words apart in the text

MIN_SCORE = 1.0  # below this, the best match is too weak: the text is vague
WEAK_MAX_UNEXPLAINED = 2  # more of the user's words unmatched, and one matching word says nothing
# One word alone is strong evidence from this score (a specific keyword, not a word of prose).
STRONG_SINGLE_SCORE = 2.0
STRONG_MIN_SHARE = 1 / 3  # of the user's content words that match, for several words to be strong evidence
RUNNER_UP_SHARE = 0.6  # runners-up are shown when they reach this share of the top score
MAX_MATCHES = 3
MAX_REASONS = 6  # activity reasons per match
TOLD_REASONS = 2  # the reasons a recommendation tells for each cluster (the first of `reasons`)

# Organisation type and goal: small multiplicative bonuses (they only break near-ties).
ORG_BONUS = 0.04
GOAL_BONUS = 0.03
MAX_BONUS = ORG_BONUS + GOAL_BONUS

# A goal favours the clusters of one type (keys of policy.yml `cluster_types`): R&D projects are
# what competitiveness clusters run; networking is what business clusters are.
_GOAL_TYPES = {"rnd": "competitiveness", "network": "business"}


@dataclass(frozen=True)
class Reason:
    kind: str  # "page" | "keyword" | "member_type" | "goal"
    field: str  # "description" | "strategy" | "members" | "scope" | "keywords" | "type"
    item: Text  # the matched fact, item or keyword (a keyword: its en/fr pair when both matched)
    terms: Tuple[str, ...]  # the user's words (as typed, lower-cased) that matched
    # How a reply tells it (not part of what the reason is): the user's words as they typed them,
    # close ones as one phrase; for a page fact, the passage of its text where they match.
    said: Tuple[str, ...] = data_field(default=(), compare=False)
    passage: Optional[Text] = data_field(default=None, compare=False)
    # A word found only inside a multi-word keyword ("industriels" in "vision industrielle"): told
    # only when nothing better explains the match.
    partial: bool = data_field(default=False, compare=False)


@dataclass(frozen=True)
class ClusterMatch:
    cluster_id: str
    score: float
    # In the order they are told (a reply tells the first TOLD_REASONS): the first activity
    # reason (a fact of the page before a keyword), the member type reason when it applies, the
    # other activity reasons, the goal reason, then the words found only inside a keyword.
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


class ClusterRanker:
    """Builds the index of the knowledge base once; `rank()` then only analyses the user's text."""

    def __init__(self, knowledge: KnowledgeBase) -> None:
        self.knowledge = knowledge
        self.analyzer = shared_analyzer()
        self.index = KnowledgeIndex(knowledge, self.analyzer)
        self._reader = QueryReader(self.index, self.analyzer)

    # ----- scores -------------------------------------------------------------------------
    def _whole_keywords(self, index: int, query: Query) -> List[Keyword]:
        """The cluster's multi-word keywords whose words are all in the text, close together."""
        entry = self.index.clusters[index]
        numbers = sorted({
            n for key in query.positions for (i, n) in self.index.keywords_by_key.get(key, ()) if i == index
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
    ) -> Tuple[List[Tuple[ClusterEntry, float, List[Keyword]]], Query]:
        """Every cluster's activity score (no bonus), with its keywords found whole."""
        query = self._reader.read(activity or "")
        results = []
        for index, entry in enumerate(self.index.clusters):
            whole = self._whole_keywords(index, query) if query.positions else []
            phrase: Dict[str, float] = {}
            for keyword in whole:
                for key in keyword.keys:
                    phrase[key] = max(phrase.get(key, 0.0), phrase_weight(keyword.size))
            score = sum(
                self.index.idf[key] * max(phrase.get(key, 0.0), entry.weights.get(key, 0.0)) * query.quality[key]
                for key in query.positions
            )
            results.append((entry, score, whole))
        return results, query

    @staticmethod
    def _told_order(activity: List[Reason], bonus: List[Reason]) -> List[Reason]:
        """The reasons in the order a reply tells them (see ClusterMatch.reasons)."""
        member = [r for r in bonus if r.kind == "member_type"]
        goal = [r for r in bonus if r.kind == "goal"]
        first, others = activity[:1], activity[1:]
        whole = [r for r in others if not r.partial]
        return first + member + whole + goal + [r for r in others if r.partial]

    def _bonus(
        self, entry: ClusterEntry, organisation_type: Optional[str], goal: Optional[str]
    ) -> Tuple[float, List[Reason]]:
        factor, reasons = 1.0, []
        if organisation_type in entry.organisation:
            strength, text, field, marker = entry.organisation[organisation_type]
            factor += ORG_BONUS * strength
            # The passage that states them, where a word of that type's markers is, in each language;
            # a description that words it otherwise in one language is not quoted in it ("").
            marker_words = {fold(max(normalize(m).split(), key=len)) for m, _ in ORGANISATION_MARKERS[organisation_type]}
            quoted = Text(*(passage(text.get(language), lambda w: fold(normalize(w)) in marker_words, field == "members")
                            or (text.get(language) if field == "members" else "") for language in ("en", "fr")))
            reasons.append(Reason("member_type", field, text, (marker,), passage=quoted))
        if goal in _GOAL_TYPES and entry.cluster.type == _GOAL_TYPES[goal]:
            factor += GOAL_BONUS
            reasons.append(Reason("goal", "type", self.index.type_names[entry.cluster.type], (goal,)))
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
            reasons = self._told_order(self._reasons(entry, whole, query, activity or ""), bonus_reasons)
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
        content = [w.surface for w in self.analyzer.words(activity, ("en", "fr"), ("en", "fr"))]
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
    def _passage(self, item: Text, keys: Set[str], from_start: bool) -> Text:
        """The passage of a page item where the user's terms are, in each language (the item's
        first clause when that language's words differ)."""
        quoted = []
        for language in ("en", "fr"):
            languages = (language, "fr" if language == "en" else "en")
            text = item.get(language)
            found = passage(text, lambda word: self.analyzer.key(word, languages) in keys, from_start)
            quoted.append(found or passage(text, lambda word: True) or text)
        return Text(*quoted)

    def _reasons(self, entry: ClusterEntry, whole: List[Keyword], query: Query, activity: str) -> List[Reason]:
        """The activity reasons of a match: facts of the page first, then keywords, then words found
        only inside a keyword; strongest first within each."""
        matched = set(query.positions)

        def first_position(key: str) -> int:
            return min(query.positions.get(key, []) + query.stop_positions.get(key, []))

        def terms(keys: Iterable[str]) -> Tuple[str, ...]:
            ordered = sorted(keys, key=first_position)
            return tuple(dict.fromkeys(s for k in ordered for s in query.surfaces[k]))

        def strength(keys: Iterable[str], weight: float) -> float:
            return sum(self.index.idf.get(k, 0.0) * query.quality.get(k, 0.0) for k in keys) * weight

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
            said = user_phrases(activity, terms(keys))
            reason = Reason("keyword", "keywords", item, terms(keys), said)
            found.append((strength(keys, phrase_weight(len(keys))), len(found), reason))
            covered.update(keys)
        # Page items (strategy, members, scope); the description for what they leave out. An item
        # that only repeats words an earlier item matched tells nothing new ("waste" in each kind of
        # waste), and would crowd the keywords out of the reasons the evidence rests on.
        on_page: Set[str] = set()
        for item in entry.items:
            keys = item.keys & matched
            if item.field == "description":
                keys -= covered
            if keys and not keys <= on_page:
                on_page.update(keys)
                weight = DESCRIPTION_WEIGHT if item.field == "description" else ITEM_WEIGHT
                reason = Reason("page", item.field, item.text, terms(keys), user_phrases(activity, terms(keys)),
                                self._passage(item.text, keys, item.field == "members"))
                found.append((strength(keys, weight), len(found), reason))
                covered.update(keys)
        # Words found only inside a multi-word keyword.
        for keyword in entry.keywords:
            keys = (set(keyword.keys) & matched) - covered
            if keys:
                item = Text(en=keyword.text, fr=keyword.text)
                reason = Reason("keyword", "keywords", item, terms(keys), user_phrases(activity, terms(keys)), partial=True)
                found.append((strength(keys, KEYWORD_PART_WEIGHT), len(found), reason))
                covered.update(keys)
        found.sort(key=lambda f: (f[2].partial, f[2].kind != "page", -f[0], f[1]))
        return [reason for _, _, reason in found[:MAX_REASONS]]

    # ----- for tests and explanations -----------------------------------------------------
    def terms_of(self, text: str, context: Optional[str] = None) -> Set[str]:
        """The terms `text` stands for, as the ranking reads a user's text (misspellings and
        compounds resolved, stop words included), read as part of `context` if given."""
        query = self._reader.read(text, context)
        return set(query.positions) | set(query.stop_positions)

    def item_terms(self, item: Text) -> Set[str]:
        """The terms of a knowledge text (both languages, stop words included)."""
        return {
            w.key for language in ("en", "fr")
            for w in self.analyzer.document_words(item.get(language), language, keep_stop=True)
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
