"""Adds what `kb.understand` reads in a message, beyond its intent, as entities that the actions
and the policies use:
- `attribute`: what is asked of a cluster (strategy, members, sector, type, website, founded,
  french_name, notes), one entity per attribute, in the order asked ("X's website and its date");
- `unknown_fact`: a fact the sources give for no cluster (headcount, director, email, phone,
  address, fee, budget, projects_count);
- `reference`: what a follow-up points at among the clusters last shown (other, others, both, all,
  plural, filter, correction), and `position` ("the second one": 2, "the last": 0);
- `order`: an ordering by founding date (oldest, newest);
- `other_sense`: "cluster" in another sense or of another region (computing, science, medicine,
  other_region).

- `topic`: a policy topic asked for by its words (the S3, the administration, the decree);
- `counting`: "how many clusters…?", answered with the count.

It also decides, with the classifier's intent, what the message is (the classifier alone does
not): "cluster" in another sense, in a message that names no Walloon cluster and no word of
Wallonia's, is out of scope whatever the classifier says; words that point back at the clusters
just shown make a follow-up (`ask_list_item`, resolved against the conversation state by
action_answer_cluster); and when the classifier hesitates, a named cluster, an attribute or a
fact nobody has make a cluster question, a topic's words a policy question.

The vocabulary (knowledge/vocabulary.yml) is read when training and saved with the model, so a
model is self-contained; scripts/train_if_changed.sh retrains when it changes."""

import json
from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import (
    ENTITIES, INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY, TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components.names import route
from kb.understand import Understanding, load_understanding, read_vocabulary

_MODEL_FILE = "vocabulary.json"
CLASSIFIED_INTENT = "classified_intent"
OUT_OF_SCOPE = "out_of_scope"
ASK_CLUSTER_INFO = "ask_cluster_info"
ASK_LIST_ITEM = "ask_list_item"
ASK_POLICY_TOPIC = "ask_policy_topic"
LIST_CLUSTERS = "list_clusters"
NLU_FALLBACK = "nlu_fallback"
# Intents whose actions read these entities themselves, or that the guided dialogue needs as
# they are: never overruled.
KEEP = {
    "ask_cluster_info", "ask_cluster_strategy", "ask_cluster_members", "ask_cluster_sector", "ask_cluster_type",
    "ask_cluster_website", "ask_cluster_founded", "compare_clusters", "ask_list_item", "inform_organisation_type",
    "inform_goal", "skip_question", "stop_form", "start_over", "forget_me", "switch_language", "other_language",
    "describe_activity", "recommend_cluster",
}
# The guided dialogue's answers and controls: the form needs them as they are.
FORM_ANSWERS = {"inform_organisation_type", "inform_goal", "skip_question", "stop_form", "start_over", "forget_me",
                "switch_language", "other_language"}
# Intents that say the classifier found nothing better.
NOTHING_BETTER = {None, "nlu_fallback", "out_of_scope", "greet", "thank", "help", "goodbye"}
# Intents a follow-up or a question about a named cluster is often mistaken for.
UNSURE = NOTHING_BETTER | {"list_clusters", "list_sectors"}
# Words that point back at the clusters just shown, whatever the classifier says ("which of
# these are poles?" is no question about the policy); an ordering ("the oldest") too.
FOLLOW_UP_CUES = {"other", "others", "both", "filter", "correction"}
# Words that point back only when the classifier has nothing better ("them", "the oldest").
WEAK_CUES = {"all", "plural"}
# How to join and the policy: a fact nobody has about a named cluster is no question about them
# ("how many projects has Skywin had labelled?"), but a fee is.
POLICY_INTENTS = {"ask_join", "ask_eligibility", "ask_submit_project"}
JOINING_INTENTS = POLICY_INTENTS | {"ask_fee"}
LANGUAGE_SWITCHES = {"switch_language", "other_language"}
# Below this confidence the classifier's intent is a guess that the words may overrule.
CONFIDENT = 0.6
# Intents that start the same dialogue (data/rules/recommend.yml): the classifier hesitating
# between them is no doubt about what the message asks.
SAME_DIALOGUE = ({"describe_activity", "recommend_cluster"},)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=True)
class UnderstandingExtractor(GraphComponent, EntityExtractorMixin):
    def __init__(self, model_storage: ModelStorage, resource: Resource, vocabulary: Optional[Dict[str, Any]]) -> None:
        self._model_storage, self._resource = model_storage, resource
        self._understanding: Optional[Understanding] = Understanding.from_data(vocabulary) if vocabulary else None

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "UnderstandingExtractor":
        return cls(model_storage, resource, None)

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "UnderstandingExtractor":
        with model_storage.read_from(resource) as directory:
            vocabulary = json.loads((directory / _MODEL_FILE).read_text(encoding="utf-8"))
        return cls(model_storage, resource, vocabulary)

    @classmethod
    def fingerprint_addon(cls, config: Dict[str, Any]) -> Optional[str]:
        """The vocabulary is read from knowledge/, not given by the graph: without this, Rasa's
        training cache would keep a model's old vocabulary when only the vocabulary changed."""
        return json.dumps(read_vocabulary(), sort_keys=True, ensure_ascii=False)

    def train(self, training_data: TrainingData) -> Resource:
        vocabulary = read_vocabulary()
        load_understanding()  # validates it: a broken vocabulary stops the training with its entry
        with self._model_storage.write_to(self._resource) as directory:
            (directory / _MODEL_FILE).write_text(json.dumps(vocabulary, ensure_ascii=False), encoding="utf-8")
        self._understanding = Understanding.from_data(vocabulary)
        return self._resource

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            if self._understanding is None or not text or text.startswith("/"):
                continue
            reading = self._understanding.read(text)
            found = [{"entity": entity, "value": value, "start": 0, "end": len(text)}
                     for entity, value in self._understanding.entity_values(text, reading)]
            if found:
                message.set(ENTITIES, message.get(ENTITIES, []) + self.add_extractor_name(found), add_to_output=True)
            self._decide(message, reading)
        return messages

    @staticmethod
    def _decide(message: Message, reading: Any) -> None:
        """The intent, from the classifier's together with what the words say (kept as
        `classified_intent` when overruled, for the dialogue to fall back on)."""
        entities = message.get(ENTITIES) or []
        names_a_cluster = any(e.get("entity") == "cluster" for e in entities)
        intent = message.get(INTENT) or {}
        classified = intent.get(INTENT_NAME_KEY)
        name, confidence = intent.get(INTENT_NAME_KEY), intent.get(PREDICTED_CONFIDENCE_KEY) or 0.0
        if name == NLU_FALLBACK:
            name, confidence = _same_dialogue(message) or (name, confidence)
        unsure = name in UNSURE or confidence < CONFIDENT
        # "become a member", "the membership fee": the words of joining, not a question about the
        # members or a fact nobody has
        joining = name in JOINING_INTENTS
        asks_a_fact = bool(set(reading.attributes) - {"overview"} - ({"members"} if joining else set())
                           or set(reading.unknown_facts) - ({"fee"} if joining else set()))
        routed = name if name != classified else None
        if reading.out_of_scope and not names_a_cluster:
            routed = OUT_OF_SCOPE
        elif name in LANGUAGE_SWITCHES and "french_name" in reading.attributes:  # "what is it called in French?"
            routed = ASK_CLUSTER_INFO
        elif name in FORM_ANSWERS:
            pass
        elif (name or "").startswith("ask_cluster_") and confidence < CONFIDENT and not names_a_cluster \
                and not (set(reading.attributes) - {"overview"} or reading.unknown_facts or reading.references):
            routed = NLU_FALLBACK  # "what's the weather?" asks nothing of the cluster in focus
        elif reading.order and not names_a_cluster:  # "which one is older?" describes no activity
            routed = ASK_LIST_ITEM
        elif reading.counting and not names_a_cluster and not asks_a_fact:
            routed = LIST_CLUSTERS  # "how many clusters are there?": the list says how many
        elif names_a_cluster and (name in POLICY_INTENTS or (name or "").startswith("ask_policy_")) \
                and set(reading.unknown_facts) - {"fee"}:
            routed = ASK_CLUSTER_INFO
        elif name in KEEP:
            pass
        elif set(reading.references) & FOLLOW_UP_CUES and not names_a_cluster:
            routed = ASK_LIST_ITEM
        elif unsure and (set(reading.references) & WEAK_CUES or _entity(entities, "position")) and not names_a_cluster:
            routed = ASK_LIST_ITEM
        elif name in NOTHING_BETTER and reading.topics and not names_a_cluster and not _entity(entities, "sector"):
            routed = ASK_POLICY_TOPIC
        elif unsure and names_a_cluster and not (joining and not asks_a_fact):  # joining TWIST: answered for it
            routed = ASK_CLUSTER_INFO
        elif (name in NOTHING_BETTER or (confidence < CONFIDENT and not reading.topics)) and asks_a_fact:  # of the focus
            routed = ASK_CLUSTER_INFO
        elif name in NOTHING_BETTER and (_entity(entities, "cluster_type") or _entity(entities, "sector")):
            routed = LIST_CLUSTERS  # "the business clusters (not the poles)?"
        if routed and routed != classified:
            message.set(CLASSIFIED_INTENT, classified, add_to_output=True)
            route(message, routed)


def _same_dialogue(message: Message) -> Optional[tuple]:
    """(intent, confidence) when the fallback only says that the classifier hesitated between two
    intents of one dialogue that together it is confident of ("we crush rubble into recycled
    aggregate, what cluster should we join?": describing an activity, or asking for a cluster)."""
    ranked = [i for i in message.get(INTENT_RANKING_KEY) or [] if i.get(INTENT_NAME_KEY) != NLU_FALLBACK]
    if len(ranked) < 2:
        return None
    first, second = ranked[0], ranked[1]
    together = (first.get(PREDICTED_CONFIDENCE_KEY) or 0.0) + (second.get(PREDICTED_CONFIDENCE_KEY) or 0.0)
    if together >= CONFIDENT and any({first[INTENT_NAME_KEY], second[INTENT_NAME_KEY]} <= group for group in SAME_DIALOGUE):
        return first[INTENT_NAME_KEY], together
    return None


def _entity(entities: List[Dict[str, Any]], name: str) -> bool:
    return any(e.get("entity") == name for e in entities)
