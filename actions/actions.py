"""The custom actions: each reads what the user asked from the tracker, asks the knowledge
base, and hands the result to render.py."""

from typing import Any, Dict, List, Optional, Sequence, Text, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher

from actions import render, state
from actions.common import intent_of, language_of, latest_entities, send
from actions.knowledge import STORE
from kb.model import Cluster
from kb.text import normalize
from kb.understand import Reading, Targets, founding_year, premise_corrections, resolve_targets

CLUSTER_ATTRIBUTE_BY_INTENT = {
    "ask_cluster_strategy": "strategy",
    "ask_cluster_members": "members",
    "ask_cluster_sector": "sector",
    "ask_cluster_type": "type",
    "ask_cluster_website": "website",
    "ask_cluster_founded": "founded",
}
POLICY_TOPIC_BY_INTENT = {
    "ask_policy_clustering": "clustering",
    "ask_policy_history": "history",
    "ask_policy_marshall_plan": "marshall_plan",
    "ask_policy_competitiveness_fields": "competitiveness_fields",
    "ask_policy_aim": "aim",
    "ask_policy_difference": "cluster_types_difference",
    "ask_policy_sixth_cluster": "sixth_cluster",
    "ask_join": "joining",
    "ask_fee": "fees",
    "ask_eligibility": "eligibility",
    "ask_submit_project": "projects",
}
# What action_answer_cluster answers of a cluster (render.cluster_attribute).
ANSWERED_ATTRIBUTES = {"overview", "strategy", "members", "sector", "type", "website", "founded", "french_name", "notes"}
# For a fact nobody has, the known facts worth giving instead ("how many employees?": its members).
NEARBY = {"headcount": {"members"}, "budget": {"members"}, "projects_count": {"strategy"}}
MAX_COMPARED = 5
# A short follow-up that only names another cluster asks the same as before ("and for BioWin?").
ELLIPSIS = {"and", "et", "same", "pareil", "idem", "meme", "also", "aussi", "about", "pour"}
ELLIPSIS_MAX_WORDS = 6
# What a policy answer says itself, of a cluster it names: the other parts of the question are
# answered about the cluster ("what's GreenWin's fee, and where are they based?").
TOPIC_OWN_FACTS = {"fee", "projects_count"}
TOPIC_OWN_ATTRIBUTES = {"overview", "members"}
# "What is a pole?" is answered with the type's definition, not the topic on clustering in general.
DEFINED_BY_TYPE = "clustering"
# A topic of more paragraphs than this, asked whole, is answered with a lead (the paragraphs the
# question singles out, else its first ones) and the rest offered with "more"; not the joining
# topics, which are next steps.
LONG_TOPIC_PARAGRAPHS = 3
LEAD_PARAGRAPHS = 2
# Answers about joining end with where to get in touch: the cluster's website, else the portal.
JOINING_TOPICS = {"joining", "fees", "eligibility", "projects"}
# An unknown word this close to a cluster name is taken for a misspelt name, not for chatter.
NAME_LIKE_SCORE = 75
# Names at least this close are offered as "did you mean…?".
SUGGESTION_MIN_SCORE = 55


def resolve_cluster(tracker: Tracker) -> Tuple[Optional[str], Optional[str]]:
    """(cluster id, unknown name): the cluster named in the message, else the one talked about,
    unless the message names something that looks like a cluster nobody knows."""
    knowledge = STORE.knowledge
    named = named_clusters(tracker)
    if named:
        return named[0], None
    unknown = next(iter(latest_entities(tracker, "unknown_name")), None)
    current = state.focus(tracker)
    if unknown:
        closest = STORE.matcher.closest(unknown, limit=1)
        looks_like_a_name = bool(closest) and closest[0][1] >= NAME_LIKE_SCORE
        explicit_question = intent_of(tracker) == "ask_cluster_info"
        if looks_like_a_name or explicit_question or not current:
            return None, unknown
    return (current if current and knowledge.cluster(current) else None), None


def _cluster_mentions(tracker: Tracker) -> Tuple[List[str], List[str]]:
    """(named, set aside): the clusters the message names, in order, and those it names to set
    them aside ("not BioWin, GreenWin")."""
    text = tracker.latest_message.get("text") or ""
    named, excluded = [], []
    for found in tracker.latest_message.get("entities", []):
        value = found.get("value")
        if found.get("entity") != "cluster" or not STORE.knowledge.cluster(value):
            continue
        if STORE.understanding.set_aside(text[: found.get("start", 0)]):
            excluded.append(value)
        elif value not in named:
            named.append(value)
    return [c for c in named if c not in excluded], excluded


def named_clusters(tracker: Tracker) -> List[str]:
    return _cluster_mentions(tracker)[0]


def _corrects(tracker: Tracker, reading: Reading) -> bool:
    """A correction: "I meant…", or a cluster named only to set it aside ("not TWIST, Infopole")."""
    return "correction" in reading.references or bool(_cluster_mentions(tracker)[1])


def _filters(tracker: Tracker) -> Dict[str, Optional[str]]:
    """The sector and the cluster type the message names, to filter or check clusters by."""
    sector = next((s for s in latest_entities(tracker, "sector") if STORE.knowledge.sector(s)), None)
    return {"sector": sector, "cluster_type": _asked_type(tracker)}


def _targets(tracker: Tracker, reading: Reading) -> Targets:
    """The clusters the message means: named, or pointed at among those last shown."""
    knowledge = STORE.knowledge
    shown = state.shown_clusters(tracker)
    text = tracker.latest_message.get("text") or ""
    filters = _filters(tracker)
    # The clusters whose own words the message uses, for a filter or a correction.
    matches = None
    if set(reading.references) & {"filter", "correction", "other"}:
        matches = [c.id for c in knowledge.clusters if STORE.understanding.mentions(c, text)]
    return resolve_targets(reading, named_clusters(tracker), shown, state.focus(tracker), state.position_of(tracker),
                           knowledge, filters, matches)


def _elliptical(tracker: Tracker) -> bool:
    words = normalize(tracker.latest_message.get("text") or "").split()
    return len(words) <= ELLIPSIS_MAX_WORDS and bool(set(words) & ELLIPSIS)


def _attributes(tracker: Tracker, reading: Reading, cluster: Cluster, targets: Targets) -> List[str]:
    """What is asked of a cluster: the attributes the words name, in order, else the intent's,
    then the cluster's lists whose words the question uses; for an elliptical follow-up ("and the
    other one?") or a correction, what was asked last."""
    asked = list(reading.attributes)
    by_intent = CLUSTER_ATTRIBUTE_BY_INTENT.get(intent_of(tracker))
    if reading.unknown_facts and not asked:  # "who is the director?" asks that only, whatever the intent
        by_intent = None
    if by_intent and by_intent not in asked:
        asked.insert(0, by_intent)
    if not asked and not reading.unknown_facts and targets.how in ("other", "named"):
        if targets.how == "other" or _corrects(tracker, reading) or _elliptical(tracker):
            asked = state.asked(tracker)
    if reading.order and "founded" not in asked:
        asked.append("founded")
    text = tracker.latest_message.get("text") or ""
    for found in STORE.understanding.matching_lists(cluster, text, ignore=[cluster.name, *cluster.aliases]):
        attribute = "strategy" if found == "strategy" else "members"  # "members" answers the scope too
        if attribute not in asked:
            asked.append(attribute)
    if len(asked) > 1 and asked[0] == "overview" and not reading.attributes:
        asked.remove("overview")
    return [a for a in asked if a in ANSWERED_ATTRIBUTES]


def _answer_one(cluster: Cluster, attributes: Sequence[str], unknown_facts: Sequence[str], language: str,
                text: str = "") -> List[render.Reply]:
    """The answers about one cluster; `text`, the question, picks what its first answer says of
    the page's paragraph."""
    knowledge, understanding = STORE.knowledge, STORE.understanding
    overview = render.cluster_overview(knowledge, cluster, language, understanding.answering_sentences(cluster, text, language))
    replies = []
    for fact in unknown_facts:
        known = [n for n in cluster.notes if fact in understanding.read(n.text.en).unknown_facts]
        if known:  # a later source does give it (Eco-building's head office)
            facts = " ".join(render.fact_text(n, language) for n in known)
            replies.append(render.Reply(render.say("fact_of", language, name=cluster.name, facts=facts)))
        else:
            nearby = [n for n in cluster.notes if set(understanding.read(n.text.en).attributes) & NEARBY.get(fact, set())]
            replies.append(render.unknown_fact(knowledge, cluster, fact, language, nearby))
    for attribute in attributes:
        if attribute == "overview":
            replies.append(overview)
            continue
        # The later facts that speak of it: a member count, an origin, what the name stands for.
        speaks = attribute in ("members", "founded", "website", "french_name")
        notes = [n for n in cluster.notes if attribute in understanding.read(n.text.en).attributes] if speaks else ()
        if overview in replies:  # not said twice in one reply
            notes = [n for n in notes if render.fact_text(n, language) not in overview.text]
        replies.append(render.cluster_attribute(knowledge, cluster, attribute, language, notes))
    if not replies:
        replies.append(overview)
    return replies


def _corrections(tracker: Tracker, targets: Targets) -> str:
    """What the message takes for granted wrongly about the clusters it names, corrected."""
    knowledge = STORE.knowledge
    named = named_clusters(tracker)
    types = [t for t in latest_entities(tracker, "cluster_type") if knowledge.cluster_type(t)]
    sectors = [s for s in latest_entities(tracker, "sector") if knowledge.sector(s)]
    if targets.how == "filter":  # "which of those are poles" filters, it claims nothing
        types, sectors = [], []
    found = premise_corrections(tracker.latest_message.get("text") or "", named, types, sectors, knowledge)
    return render.corrections(knowledge, found, language_of(tracker))


def _names(text: str, cluster_id: str) -> bool:
    return any(m.entity == "cluster" and m.value == cluster_id for m in STORE.matcher.find(text))


def _applies_to(paragraph: str, cluster: Cluster) -> bool:
    """Whether a paragraph about joining applies to the cluster: it names no cluster, or one of the
    same type ("each pole is an ASBL…, at GreenWin…" is not about a business cluster)."""
    named = {m.value for m in STORE.matcher.find(paragraph) if m.entity == "cluster" and STORE.knowledge.cluster(m.value)}
    return not named or any(STORE.knowledge.cluster(c).type == cluster.type for c in named)


class ActionAnswerCluster(Action):
    """Questions about clusters: what one is, its attributes (several at once, of several clusters),
    facts nobody has, and follow-ups that point at the clusters last shown: a position, the other
    one, both or all, a filter ("which of those are poles?"), the oldest. Wrong premises are
    corrected first."""

    def name(self) -> Text:
        return "action_answer_cluster"

    @state.notes_the_page
    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        knowledge, language = STORE.knowledge, language_of(tracker)
        reading = state.reading_of(tracker)
        targets = _targets(tracker, reading)
        asks_a_question = reading.unknown_facts or set(reading.attributes) - {"overview"}
        if targets.how in ("none", "focus") and not (reading.references or asks_a_question) and state.position_of(tracker) is None:
            cluster_id, unknown = resolve_cluster(tracker)
            if unknown:
                closest = [c for c, score in STORE.matcher.closest(unknown) if score >= SUGGESTION_MIN_SCORE]
                send(dispatcher, render.unknown_cluster(knowledge, unknown, closest, language), language)
                return []
        if targets.how in ("none", "focus") and reading.unknown_facts and self._topic_answers(dispatcher, tracker, reading, language):
            return []
        if targets.how == "none":
            return self._nothing_to_answer(dispatcher, tracker, reading, language)
        lead = _corrections(tracker, targets)
        if targets.how == "order":
            reply = render.ordering(knowledge, targets.clusters, targets.undated, reading.order, language, founding_year)
            send(dispatcher, render.joined([reply], lead), language)
            # The first in that order is the one the answer names: "and its website?" means it.
            return state.shown(targets.clusters + targets.undated, targets.clusters[0]) if targets.clusters else []
        every_cluster = {c.id for c in knowledge.clusters}
        if targets.how == "filter" and set(state.shown_clusters(tracker)) == every_cluster:
            return ActionListClusters().run(dispatcher, tracker, domain)  # a filter of everything is a list
        if targets.how == "filter" and not (reading.attributes or reading.unknown_facts):
            send(dispatcher, render.joined([render.filtered(knowledge, targets.clusters, state.shown_clusters(tracker), language)], lead), language)
            return state.shown(targets.clusters) if targets.clusters else []
        clusters = [knowledge.cluster(c) for c in targets.clusters]
        filters = _filters(tracker)
        if targets.how == "group" and any(filters.values()) and not asks_a_question:  # "are both poles?"
            reply = render.group_check(knowledge, clusters, filters["cluster_type"], filters["sector"], language)
            send(dispatcher, render.joined([reply], lead), language)
            return state.shown(targets.clusters)
        asked = {c.id: _attributes(tracker, reading, c, targets) for c in clusters}
        if len(clusters) > 1 and not any(asked.values()) and not reading.unknown_facts:
            send(dispatcher, render.joined([render.group(knowledge, clusters, language)], lead), language)
            return state.shown(targets.clusters)
        text = tracker.latest_message.get("text") or ""
        replies = [r for c in clusters for r in _answer_one(c, asked[c.id], reading.unknown_facts, language, text)]
        if reading.counting and targets.how == "named":  # "X's website, and how many poles are there?"
            replies.append(render.cluster_count(knowledge, _asked_type(tracker), language))
        send(dispatcher, render.joined(replies, lead), language)
        remembered = state.answered(asked[clusters[-1].id])
        if len(clusters) == 1:
            return state.focused(clusters[0].id, tracker) + remembered
        return state.shown(targets.clusters) + remembered

    @staticmethod
    def _topic_answers(dispatcher: CollectingDispatcher, tracker: Tracker, reading: Reading, language: str) -> bool:
        """A fact asked right after a policy topic, of which the topic speaks: "and its budget?"
        after the Marshall Plan is its disputed budget, not the budget of a cluster it names."""
        knowledge, topic_id = STORE.knowledge, state.topic(tracker)
        if not topic_id or topic_id not in knowledge.topics:
            return False
        topic = knowledge.topics[topic_id]
        corpus = [p for t in knowledge.topics.values() for p in t.paragraphs]
        found = STORE.understanding.relevant_paragraphs(topic.paragraphs, tracker.latest_message.get("text") or "",
                                                        corpus, by_rare_words=False)
        if found:
            send(dispatcher, render.topic(knowledge, topic, language, found), language)
        return bool(found)

    @staticmethod
    def _nothing_to_answer(dispatcher: CollectingDispatcher, tracker: Tracker, reading: Reading, language: str) -> List[EventType]:
        """No cluster is meant: the words that looked like a follow-up point at nothing shown, so
        the classifier's own reading answers ("which are the poles?" lists them)."""
        knowledge = STORE.knowledge
        shown = state.shown_clusters(tracker)
        position = state.position_of(tracker)
        classified = tracker.latest_message.get("classified_intent")
        if classified in POLICY_TOPIC_BY_INTENT or latest_entities(tracker, "topic"):  # "is a reform coming?"
            return ActionAnswerPolicy().run(dispatcher, tracker, {})
        if reading.unknown_facts:  # "how many people work for the clusters?"
            send(dispatcher, render.joined([render.unknown_fact(knowledge, None, f, language) for f in reading.unknown_facts]), language)
            return []
        if classified == "list_clusters" or (latest_entities(tracker, "cluster_type") or latest_entities(tracker, "sector")):
            return ActionListClusters().run(dispatcher, tracker, {})
        if classified == "list_sectors":
            return ActionListSectors().run(dispatcher, tracker, {})
        if position is not None and shown:
            send(dispatcher, render.Reply(render.say("item_out_of_range", language, count=len(shown))), language)
        elif position is not None:
            send(dispatcher, render.Reply(render.say("no_list_to_pick", language)), language)
        elif intent_of(tracker) == "ask_list_item" and shown:
            send(dispatcher, render.Reply(render.say("which_item", language, count=len(shown))), language)
        elif intent_of(tracker) == "ask_list_item":
            dispatcher.utter_message(response="utter_rephrase")
        else:
            asks_an_attribute = set(reading.attributes) - {"overview"}  # "and its website?" describes no activity
            recommended = None if asks_an_attribute else _recommend_from(dispatcher, tracker, language, tentative=True,
                                                                        uncovered=True)
            if recommended is not None:  # "small dev shop, we make mobile apps, which cluster?"
                return recommended
            send(dispatcher, render.ask_which_cluster(knowledge, language), language)
        return []


def _asked_type(tracker: Tracker) -> Optional[str]:
    """The cluster type a list or a filter asks for (kb.understand.Understanding.asked_type)."""
    knowledge = STORE.knowledge
    mentions = [(e["value"], e.get("start", 0), e.get("end", 0)) for e in tracker.latest_message.get("entities", [])
                if e.get("entity") == "cluster_type" and knowledge.cluster_type(e.get("value"))]
    return STORE.understanding.asked_type(tracker.latest_message.get("text") or "", mentions,
                                          [t.id for t in knowledge.cluster_types])


class ActionListClusters(Action):
    """All clusters, those of a sector, of a type, or both."""

    def name(self) -> Text:
        return "action_list_clusters"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        knowledge, language = STORE.knowledge, language_of(tracker)
        sector = next((s for s in latest_entities(tracker, "sector") if knowledge.sector(s)), None)
        cluster_type = _asked_type(tracker)
        clusters = knowledge.clusters_of(sector=sector, cluster_type=cluster_type)
        sector_text = render.sector_name(knowledge, sector, language) if sector else ""
        types_text = render.type_name(knowledge, cluster_type, language, plural=True) if cluster_type else ""
        if not clusters:
            send(dispatcher, render.Reply(render.say("list_empty", language, types=types_text, sector=sector_text)), language)
            return []
        if sector and cluster_type:
            heading = render.say("list_of_sector_and_type", language, types=types_text, sector=sector_text)
        elif sector:
            heading = render.say("list_of_sector", language, sector=sector_text)
        elif cluster_type:
            heading = render.say("list_of_type", language, count=len(clusters), types=types_text)
        else:
            heading = render.say("list_all", language, count=len(clusters))
        by_sector = sector is None
        send(dispatcher, render.cluster_list(knowledge, clusters, heading, language, by_sector=by_sector), language)
        return state.shown([c.id for c in clusters], state.focus(tracker))


class ActionListSectors(Action):
    def name(self) -> Text:
        return "action_list_sectors"

    @state.notes_the_page
    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        language = language_of(tracker)
        send(dispatcher, render.sectors(STORE.knowledge, language), language)
        return []


class ActionCompareClusters(Action):
    """Two clusters or more, named, or the one in focus and another, or the clusters last shown."""

    def name(self) -> Text:
        return "action_compare_clusters"

    @state.notes_the_page
    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        knowledge, language = STORE.knowledge, language_of(tracker)
        named = named_clusters(tracker)
        current = state.focus(tracker)
        shown = state.shown_clusters(tracker)
        reading = state.reading_of(tracker)
        # "did BioWin come before GreenWin?", "not BioWin, GreenWin": no comparison.
        if reading.order or _corrects(tracker, reading):
            return ActionAnswerCluster().run(dispatcher, tracker, domain)
        if len(named) == 1 and current and current != named[0] and knowledge.cluster(current):
            named = [current, named[0]]  # "compare it with MecaTech"
        elif not named and 2 <= len(shown) <= MAX_COMPARED:
            named = shown  # "compare them"
        if len(named) < 2:
            send(dispatcher, render.Reply(render.say("compare_need_two", language)), language)
            return []
        if reading.unknown_facts or set(reading.attributes) - {"overview"}:  # "when were X and Y founded?"
            return ActionAnswerCluster().run(dispatcher, tracker, domain)
        clusters = [knowledge.cluster(c) for c in named]
        send(dispatcher, render.comparison(knowledge, clusters, language), language)
        return state.shown(named)


class ActionAnswerPolicy(Action):
    """The policy topics (clustering, history, Marshall Plan, fields, aim, types, the sixth) and
    how to join (membership, fees, eligibility, projects)."""

    def name(self) -> Text:
        return "action_answer_policy"

    @state.notes_the_page
    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        knowledge, language = STORE.knowledge, language_of(tracker)
        text = tracker.latest_message.get("text") or ""
        # The topics the words name, then the intent's (_paragraphs picks among them).
        named_topics = [t for t in latest_entities(tracker, "topic") if t in knowledge.topics]
        candidates = list(named_topics)
        by_intent = POLICY_TOPIC_BY_INTENT.get(intent_of(tracker)) or POLICY_TOPIC_BY_INTENT.get(
            tracker.latest_message.get("classified_intent") or "")
        candidates += [by_intent] if by_intent and by_intent not in candidates else []
        if not candidates:
            dispatcher.utter_message(response="utter_rephrase")
            return []
        topic, only = self._paragraphs(text, candidates, named_topics)
        named = named_clusters(tracker)
        asked_type = _asked_type(tracker)
        if topic.id == DEFINED_BY_TYPE and asked_type and not named and only is None:  # "what is a pole?"
            send(dispatcher, render.type_definition(knowledge, asked_type, language), language)
            return state.topic_answered(topic.id, [])
        if named:  # "MecaTech's steps for submitting a project": what names MecaTech first
            cluster = knowledge.cluster(named[0])
            indexes = range(len(topic.paragraphs)) if only is None else only
            only = sorted(indexes, key=lambda i: not _names(topic.paragraphs[i].text.en, cluster.id))
        cluster = None
        if topic.id in JOINING_TOPICS and (named or not STORE.understanding.in_general(text)):
            cluster_id, _ = resolve_cluster(tracker)
            cluster = knowledge.cluster(cluster_id) if cluster_id else None
        own = []
        if cluster:  # what applies to its type, and what is known of it
            only = [i for i in (range(len(topic.paragraphs)) if only is None else only)
                    if _applies_to(topic.paragraphs[i].text.en, cluster)]
            own = [n for n in cluster.notes if "members" in STORE.understanding.read(n.text.en).attributes]
        left: List[int] = []
        if only is None and topic.id not in JOINING_TOPICS and len(topic.paragraphs) > LONG_TOPIC_PARAGRAPHS:
            # the lead: the paragraphs the question's words single out, else the first ones; with
            # any the sources disagree on (a caveat is not left for "more")
            corpus = [p for t in knowledge.topics.values() for p in t.paragraphs]
            singled = (STORE.understanding.relevant_paragraphs(topic.paragraphs, text, corpus)
                       or STORE.understanding.distinctive_paragraphs(topic, text))
            only = sorted(set(singled) | set(_disputed(topic))) if singled else _usual_lead(topic)
            left = [i for i in range(len(topic.paragraphs)) if i not in only]
        reply = render.topic(knowledge, topic, language, only, more_of=topic.id if left else None)
        if topic.id in JOINING_TOPICS:
            reply = render.joining(knowledge, reply, cluster, language, own)
        replies = [reply]
        if named:  # the other parts, about the cluster: "what's GreenWin's fee, and where are they based?"
            reading = state.reading_of(tracker)
            facts = [f for f in reading.unknown_facts if f not in TOPIC_OWN_FACTS]
            attributes = [a for a in reading.attributes if a not in TOPIC_OWN_ATTRIBUTES]
            if facts or attributes:
                replies += _answer_one(knowledge.cluster(named[0]), attributes, facts, language, text)
        send(dispatcher, render.joined(replies, _corrections(tracker, Targets((), "named"))), language)
        return state.topic_answered(topic.id, list(topic.clusters), left)

    @staticmethod
    def _paragraphs(text: str, candidates: List[str], named_topics: List[str]) -> Tuple[Any, Optional[List[int]]]:
        """The topic to answer and the paragraphs the question singles out (None: all of them): of
        the first candidate whose paragraphs the question singles out (by a rare word for a topic the
        words name, by a fact nobody gives, such as a budget, for the intent's); else, for a topic
        the words name, of any topic whose paragraph holds a rare word of the question ("the
        missions of a cluster under the decree"); else the first candidate, whole."""
        knowledge = STORE.knowledge
        corpus = [p for t in knowledge.topics.values() for p in t.paragraphs]
        for candidate in candidates:
            found = STORE.understanding.relevant_paragraphs(knowledge.topics[candidate].paragraphs, text, corpus,
                                                            by_rare_words=candidate in named_topics)
            if found:
                return knowledge.topics[candidate], found
        if named_topics:
            for topic in knowledge.topics.values():
                found = STORE.understanding.relevant_paragraphs(topic.paragraphs, text, corpus, attribute_words_count=True)
                if topic.id not in candidates and found:
                    return topic, found
        return knowledge.topics[candidates[0]], None


def _disputed(topic: Any) -> List[int]:
    return [i for i, p in enumerate(topic.paragraphs) if p.disputed]


def _usual_lead(topic: Any) -> List[int]:
    """A long topic's lead when the question singles out no paragraph: its first ones, and those
    the sources disagree on."""
    return sorted(set(range(LEAD_PARAGRAPHS)) | set(_disputed(topic)))


class ActionAnswerMore(Action):
    """"More": the rest of the long answer last given (the topic's other paragraphs; a "more"
    button names its topic or its cluster), else the page's paragraph on the cluster in focus."""

    def name(self) -> Text:
        return "action_answer_more"

    @state.notes_the_page
    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        knowledge, language = STORE.knowledge, language_of(tracker)
        named_topic = next((t for t in latest_entities(tracker, "topic") if t in knowledge.topics), None)
        topic_id = named_topic or state.topic(tracker)
        left = state.more_left(tracker) if topic_id == state.topic(tracker) else []
        if named_topic and not left:  # a "more" button of an earlier answer: all but the usual lead
            lead = _usual_lead(knowledge.topics[named_topic])
            left = [i for i in range(len(knowledge.topics[named_topic].paragraphs)) if i not in lead]
        named = named_clusters(tracker)
        if topic_id in knowledge.topics and left and not named:
            topic = knowledge.topics[topic_id]
            send(dispatcher, render.topic(knowledge, topic, language, left), language)
            return state.topic_answered(topic_id, list(topic.clusters))
        cluster_id = named[0] if named else state.focus(tracker)
        if cluster_id and knowledge.cluster(cluster_id):
            send(dispatcher, render.cluster_description(knowledge, knowledge.cluster(cluster_id), language), language)
            return state.focused(cluster_id, tracker)
        send(dispatcher, render.Reply(render.say("nothing_more", language)), language)
        return []


class ActionCoreFallback(Action):
    """When no rule and no policy knows what to do next (config.yml core_fallback_action_name):
    asks to rephrase, and takes the message back, as Rasa's action_default_fallback does, so that
    the dialogue waits for the next message instead of predicting this action again."""

    def name(self) -> Text:
        return "action_core_fallback"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        dispatcher.utter_message(response="utter_rephrase")
        return [UserUtteranceReverted()]


class ActionFallback(Action):
    """A message the classifier could not place, or placed out of scope. The dialogue decides with
    what else is known: "cluster" in another sense is out of scope; words of the cluster in focus
    ("do they also do recycling?") make a question about it; an activity the ranking matches makes
    a recommendation (or, on one word only, a "may fit"); else the assistant says what it covers."""

    def name(self) -> Text:
        return "action_fallback"

    @state.notes_the_page
    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        knowledge, language = STORE.knowledge, language_of(tracker)
        default = "utter_out_of_scope" if intent_of(tracker) == "out_of_scope" else "utter_rephrase"
        if latest_entities(tracker, "other_sense"):
            dispatcher.utter_message(response="utter_out_of_scope")
            return []
        text = tracker.latest_message.get("text") or ""
        current = state.focus(tracker)
        cluster = knowledge.cluster(current) if current else None
        # A word of the cluster in focus makes a question about it only when the classifier could
        # not place the message ("does it do recycling?"), not when it placed it out of scope
        # ("book me a flight" is no question about Skywin).
        unplaced = default == "utter_rephrase"
        if named_clusters(tracker) or (unplaced and cluster and STORE.understanding.mentions(cluster, text)):
            return ActionAnswerCluster().run(dispatcher, tracker, domain)
        recommended = _recommend_from(dispatcher, tracker, language, tentative=unplaced)
        if recommended is not None:
            return recommended
        dispatcher.utter_message(response=default)
        return []


def _recommend_from(dispatcher: CollectingDispatcher, tracker: Tracker, language: str,
                    tentative: bool, uncovered: bool = False) -> Optional[List[EventType]]:
    """A message that describes an activity, whatever its intent: the ranking's evidence decides.
    Strong evidence gives a recommendation; weak, "this may fit X" (when `tentative`); none, for a
    cluster asked for an activity no cluster covers ("a cluster for hairdressers?"), says so and
    offers the key sectors (when `uncovered`); else None."""
    knowledge, text = STORE.knowledge, tracker.latest_message.get("text") or ""
    result = STORE.ranker.rank(text)
    evidence = STORE.ranker.evidence(text, result, STORE.understanding.activity_words)
    if uncovered and evidence.level in ("none", "unclear") and evidence.unexplained and STORE.understanding.read(text).cluster_word:
        send(dispatcher, render.ask_activity(knowledge, True, True, language), language)
        return []
    if evidence.level == "strong":
        send(dispatcher, render.recommendation(knowledge, result.matches, None, language), language)
        return state.shown([m.cluster_id for m in result.matches], result.matches[0].cluster_id)
    if evidence.level == "weak" and tentative:
        send(dispatcher, render.tentative_match(knowledge, knowledge.cluster(result.matches[0].cluster_id), language), language)
        return []
    return None
