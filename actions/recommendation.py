"""The guided recommendation: a form that asks what the organisation does, what kind it is and
what it looks for, then ranks the clusters (kb/recommend/) and says why."""

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import render, state
from actions.actions import CLUSTER_ATTRIBUTE_BY_INTENT, POLICY_TOPIC_BY_INTENT
from actions.common import intent_of, language_of, send
from actions.knowledge import STORE
from kb.recommend import Evidence

SKIPPED = "skipped"
# What the extraction of the activity decides besides the answer itself.
SIDE_SLOTS = ("quick_recommendation", "activity_vague", "activity_uncovered", "tentative_cluster")
FORM_SLOTS = ("activity", "organisation_type", "goal", *SIDE_SLOTS)
# Intents that ask for the activity to be described, and so may carry the description itself;
# a description with "entreprise" in it may also come as an answer to the type question.
ACTIVITY_REQUESTS = {"recommend_cluster", "describe_activity", "inform_organisation_type", "inform_goal"}
# A message with one of these intents is never taken for the free-text activity answer.
NOT_AN_ACTIVITY = {
    *CLUSTER_ATTRIBUTE_BY_INTENT, *POLICY_TOPIC_BY_INTENT, "ask_cluster_info", "compare_clusters", "list_clusters",
    "list_sectors", "ask_list_item", "greet", "goodbye", "thank", "help", "start_over", "stop_form",
    "skip_question", "inform_organisation_type", "inform_goal", "forget_me",
}


class ValidateRecommendationForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_recommendation_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        """As rasa-sdk's, but the slots the extraction sets beside the questions' (SIDE_SLOTS) are
        kept: rasa-sdk returns only the required slots it validated."""
        extraction = await self.get_extraction_events(dispatcher, tracker, domain)
        tracker.add_slots(extraction)
        validation = await self._extract_validation_events(dispatcher, tracker, domain)
        validated = {event["name"] for event in validation}
        return validation + [e for e in extraction if e["name"] in SIDE_SLOTS and e["name"] not in validated]

    async def required_slots(
        self, domain_slots: List[Text], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Text]:
        # A request that already described the activity is answered at once.
        return ["activity"] if tracker.get_slot("quick_recommendation") else domain_slots

    async def extract_activity(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        intent, text = intent_of(tracker), (tracker.latest_message.get("text") or "").strip()
        requested = tracker.get_slot("requested_slot")
        if requested in ("organisation_type", "goal") and STORE.understanding.form_answer(requested, text):
            return {}  # an answer to the question asked, not a new activity
        if requested is None and intent in ACTIVITY_REQUESTS:  # the message that opened the form
            if text.startswith("/"):
                return {}
            evidence = activity_evidence(text)
            if evidence.level == "strong":
                return {"activity": text, "quick_recommendation": True}
            if intent.startswith("inform_"):  # "actually we are a start-up": an answer, not an activity
                return {}
            if evidence.level == "weak":
                return {"tentative_cluster": STORE.ranker.rank(text).matches[0].cluster_id}
            # A description that matches no cluster (a bank, a hairdresser), or only by one word of
            # many, is said to be so.
            described = len(evidence.unexplained) >= (1 if intent == "describe_activity" else 2)
            return {"activity_vague": True, "activity_uncovered": True} if described else {}
        if intent == "describe_activity" and not text.startswith("/"):  # also a correction later on
            if requested in ("organisation_type", "goal") and activity_evidence(text).level != "strong":
                return {}  # "partners to innovate" is no new description of the activity
            return {"activity": text}
        if requested != "activity":
            return {}
        if intent == "skip_question":
            return {"activity": SKIPPED}
        if intent in NOT_AN_ACTIVITY or text.startswith("/"):
            return {}
        return {"activity": text}

    def validate_activity(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if not value:  # cleared by action_reset_recommendation: nothing to check
            return {}
        if value == SKIPPED:
            return {"activity": SKIPPED, "activity_vague": False}
        evidence = activity_evidence(str(value))
        if evidence.level in ("none", "unclear"):
            return {"activity": None, "activity_vague": True, "activity_uncovered": bool(evidence.unexplained)}
        if evidence.level == "weak" and not tracker.get_slot("tentative_cluster"):  # said once, then taken
            return {"activity": None, "tentative_cluster": STORE.ranker.rank(str(value)).matches[0].cluster_id}
        return {"activity": value, "activity_vague": False}

    def validate_organisation_type(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                   domain: DomainDict) -> Dict[Text, Any]:
        self._acknowledge_correction("organisation_type", value, dispatcher, tracker)
        return {"organisation_type": value}

    def validate_goal(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                      domain: DomainDict) -> Dict[Text, Any]:
        self._acknowledge_correction("goal", value, dispatcher, tracker)
        return {"goal": value}

    @staticmethod
    def _acknowledge_correction(slot: str, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
        """An answer given while another question is pending ("actually we are a research centre")
        is said back, so that the user sees it was taken."""
        requested = tracker.get_slot("requested_slot")
        if value and value != SKIPPED and requested and requested != slot:
            send(dispatcher, render.answer_noted(slot, value, language_of(tracker)))

    async def extract_organisation_type(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return self._skip_if_asked("organisation_type", tracker)

    async def extract_goal(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        return self._skip_if_asked("goal", tracker)

    @staticmethod
    def _skip_if_asked(slot: str, tracker: Tracker) -> Dict[Text, Any]:
        """The question asked, answered by a skip, or by typed words that say one of its options
        (the entity, when the NLU found one, fills it by the slot's own mapping); or, asked or not,
        answered explicitly ("more clients" while the activity is asked)."""
        if tracker.get_slot("requested_slot") != slot and intent_of(tracker) != f"inform_{slot}":
            return {}
        if intent_of(tracker) == "skip_question":
            return {slot: SKIPPED}
        if any(e.get("entity") in ("organisation_type", "goal") for e in tracker.latest_message.get("entities", [])):
            return {}  # the NLU found an answer: the slots' own mappings take it
        text = tracker.latest_message.get("text") or ""
        option = STORE.understanding.form_answer(slot, text) if not text.startswith("/") else None
        return {slot: option} if option else {}


def activity_evidence(text: str) -> Evidence:
    return STORE.ranker.evidence(text, plain_words=STORE.understanding.activity_words)


class ActionAskActivity(Action):
    """Asks what the organisation does; again, in other words, after an answer that matched no
    cluster; or, after one that matched on a single word, says which cluster it may be."""

    def name(self) -> Text:
        return "action_ask_activity"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        knowledge, language = STORE.knowledge, language_of(tracker)
        tentative = tracker.get_slot("tentative_cluster")
        if tentative and knowledge.cluster(tentative) and tracker.get_slot("activity") is None:
            send(dispatcher, render.tentative_match(knowledge, knowledge.cluster(tentative), language))
            return []
        vague, uncovered = bool(tracker.get_slot("activity_vague")), bool(tracker.get_slot("activity_uncovered"))
        send(dispatcher, render.ask_activity(knowledge, vague, uncovered, language))
        # The follow-up is said once.
        return [SlotSet("activity_vague", False), SlotSet("activity_uncovered", False)] if vague else []


class ActionAskOrganisationType(Action):
    def name(self) -> Text:
        return "action_ask_organisation_type"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        send(dispatcher, render.ask_organisation_type(language_of(tracker)))
        return []


class ActionAskGoal(Action):
    def name(self) -> Text:
        return "action_ask_goal"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        send(dispatcher, render.ask_goal(language_of(tracker)))
        return []


class ActionResetRecommendation(Action):
    """Clears the form's answers, so that a new request starts afresh."""

    def name(self) -> Text:
        return "action_reset_recommendation"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        return [SlotSet(slot, None) for slot in FORM_SLOTS]


def _answer(tracker: Tracker, slot: str) -> Optional[str]:
    value = tracker.get_slot(slot)
    return None if value in (None, SKIPPED) else value


class ActionRecommendClusters(Action):
    def name(self) -> Text:
        return "action_recommend_clusters"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        knowledge, language = STORE.knowledge, language_of(tracker)
        goal = _answer(tracker, "goal")
        result = STORE.ranker.rank(_answer(tracker, "activity") or "", _answer(tracker, "organisation_type"), goal)
        send(dispatcher, render.recommendation(knowledge, result.matches, goal, language))
        ranked = [m.cluster_id for m in result.matches]
        return state.shown(ranked, ranked[0]) if ranked else []
