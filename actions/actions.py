"""The custom actions: each reads what the user asked from the tracker, asks the knowledge
base, and hands the result to render.py."""

from typing import Any, Dict, List, Optional, Text, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import render
from actions.common import intent_of, language_of, latest_entities, send
from actions.knowledge import STORE
from actions.ordinals import LAST, parse_ordinal

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
    named = [c for c in latest_entities(tracker, "cluster") if knowledge.cluster(c)]
    if named:
        return named[0], None
    unknown = next(iter(latest_entities(tracker, "unknown_name")), None)
    current = tracker.get_slot("cluster")
    if unknown:
        closest = STORE.matcher.closest(unknown, limit=1)
        looks_like_a_name = bool(closest) and closest[0][1] >= NAME_LIKE_SCORE
        explicit_question = intent_of(tracker) == "ask_cluster_info"
        if looks_like_a_name or explicit_question or not current:
            return None, unknown
    return (current if current and knowledge.cluster(current) else None), None


class ActionAnswerCluster(Action):
    """What is X, and one attribute of X (strategy, members, sector, type, website, founded)."""

    def name(self) -> Text:
        return "action_answer_cluster"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        knowledge, language = STORE.knowledge, language_of(tracker)
        cluster_id, unknown = resolve_cluster(tracker)
        if unknown:
            closest = [c for c, score in STORE.matcher.closest(unknown) if score >= SUGGESTION_MIN_SCORE]
            send(dispatcher, render.unknown_cluster(knowledge, unknown, closest, language))
            return []
        if cluster_id is None:
            send(dispatcher, render.ask_which_cluster(knowledge, language))
            return []
        cluster = knowledge.cluster(cluster_id)
        attribute = CLUSTER_ATTRIBUTE_BY_INTENT.get(intent_of(tracker))
        if attribute is None:
            send(dispatcher, render.cluster_overview(knowledge, cluster, language))
        else:
            send(dispatcher, render.cluster_attribute(knowledge, cluster, attribute, language))
        return [SlotSet("cluster", cluster_id)]


class ActionListClusters(Action):
    """All clusters, those of a sector, of a type, or both."""

    def name(self) -> Text:
        return "action_list_clusters"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        knowledge, language = STORE.knowledge, language_of(tracker)
        sector = next((s for s in latest_entities(tracker, "sector") if knowledge.sector(s)), None)
        cluster_type = next((t for t in latest_entities(tracker, "cluster_type") if knowledge.cluster_type(t)), None)
        clusters = knowledge.clusters_of(sector=sector, cluster_type=cluster_type)
        sector_text = render.sector_name(knowledge, sector, language) if sector else ""
        types_text = render.type_name(knowledge, cluster_type, language, plural=True) if cluster_type else ""
        if not clusters:
            send(dispatcher, render.Reply(render.say("list_empty", language, types=types_text, sector=sector_text)))
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
        send(dispatcher, render.cluster_list(knowledge, clusters, heading, language, by_sector=by_sector))
        return [SlotSet("listed_clusters", [c.id for c in clusters])]


class ActionListSectors(Action):
    def name(self) -> Text:
        return "action_list_sectors"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        send(dispatcher, render.sectors(STORE.knowledge, language_of(tracker)))
        return []


class ActionDescribeListItem(Action):
    """"Tell me more about the second one", after a list."""

    def name(self) -> Text:
        return "action_describe_list_item"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        knowledge, language = STORE.knowledge, language_of(tracker)
        listed = [c for c in tracker.get_slot("listed_clusters") or [] if knowledge.cluster(c)]
        position = parse_ordinal(tracker.latest_message.get("text") or "")
        if position is None and not listed:  # nothing to pick from, nor a position: not understood
            dispatcher.utter_message(response="utter_rephrase")
            return []
        if position is None:
            send(dispatcher, render.Reply(render.say("which_item", language, count=len(listed))))
            return []
        if not listed:
            send(dispatcher, render.Reply(render.say("no_list_to_pick", language)))
            return []
        index = len(listed) - 1 if position == LAST else position - 1
        if not 0 <= index < len(listed):
            send(dispatcher, render.Reply(render.say("item_out_of_range", language, count=len(listed))))
            return []
        cluster = knowledge.cluster(listed[index])
        send(dispatcher, render.cluster_overview(knowledge, cluster, language))
        return [SlotSet("cluster", cluster.id)]


class ActionCompareClusters(Action):
    def name(self) -> Text:
        return "action_compare_clusters"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        knowledge, language = STORE.knowledge, language_of(tracker)
        named = [c for c in latest_entities(tracker, "cluster") if knowledge.cluster(c)]
        current = tracker.get_slot("cluster")
        if len(named) == 1 and current and current != named[0] and knowledge.cluster(current):
            named = [current, named[0]]  # "compare it with MecaTech"
        if len(named) < 2:
            send(dispatcher, render.Reply(render.say("compare_need_two", language)))
            return []
        first, second = knowledge.cluster(named[0]), knowledge.cluster(named[1])
        send(dispatcher, render.comparison(knowledge, first, second, language))
        return [SlotSet("cluster", second.id)]


class ActionAnswerPolicy(Action):
    """The policy topics (clustering, history, Marshall Plan, fields, aim, types, the sixth) and
    how to join (membership, fees, eligibility, projects)."""

    def name(self) -> Text:
        return "action_answer_policy"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        knowledge, language = STORE.knowledge, language_of(tracker)
        topic = knowledge.topics[POLICY_TOPIC_BY_INTENT[intent_of(tracker)]]
        reply = render.topic(knowledge, topic, language)
        if topic.id in JOINING_TOPICS:
            cluster_id, _ = resolve_cluster(tracker)
            reply = render.joining(knowledge, reply, knowledge.cluster(cluster_id) if cluster_id else None, language)
        send(dispatcher, reply)
        if topic.clusters:
            return [SlotSet("listed_clusters", list(topic.clusters))]
        return []
