"""Tells which language each message is in, and whether it asks for a language, for the
actions to choose the language of the answer (`kb.language.choose_language`).

It sets the message's `language` to `{"detected": "en" | "fr" | "other" | "unknown",
"requested": "en" | "fr" | None}`, which Rasa adds to the parse data: the actions read it as
`tracker.latest_message["language"]`. The work is done by `kb.language` (plain Python, tested on
its own); its model ships inside the `lingua-language-detector` wheel, so nothing is downloaded.

The cluster, sector and cluster-type names, whose spans are cut out before detection ("What is
Cluster Photonique?" is English), come from the generated lookup tables of the training data,
like `KnowledgeEntityExtractor`'s, and are saved with the model: the model is self-contained.

Registered as an entity extractor: Rasa then trains it (it only saves the names) and runs it on
every message at inference, but never on the training examples, and it adds no entity. A message
in another language goes to the intent `other_language` (the answer says, in English and French,
which languages the assistant speaks); a bare request for a language to `switch_language`.
"""

from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components.knowledge_entity_extractor import KNOWLEDGE_ENTITIES, load_entries, name_entries, save_entries
from kb.language import detect_language, detector, explicit_language_request
from kb.names import NameEntry, NameMatcher

LANGUAGE = "language"
OTHER = "other"
OTHER_LANGUAGE_INTENT = "other_language"
SWITCH_LANGUAGE_INTENT = "switch_language"
# A request for a language inside a real question ("en français : c'est quoi Skywin ?") keeps
# the question's intent; a bare request ("in English please") often lands in one of these.
WEAK_INTENTS = {None, "nlu_fallback", "out_of_scope", "greet", "help", "thank", SWITCH_LANGUAGE_INTENT}


def _classified_as(message: Message) -> Optional[str]:
    return (message.get(INTENT) or {}).get(INTENT_NAME_KEY)


def _route(message: Message, intent: str) -> None:
    """Sets the intent, as a rule-based classifier would (certain, alone in the ranking)."""
    message.set(INTENT, {INTENT_NAME_KEY: intent, PREDICTED_CONFIDENCE_KEY: 1.0}, add_to_output=True)
    message.set(INTENT_RANKING_KEY, [{INTENT_NAME_KEY: intent, PREDICTED_CONFIDENCE_KEY: 1.0}], add_to_output=True)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=True)
class LanguageDetector(GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        # Build the model when the assistant loads rather than on the first message (~1 s).
        return {"preload_model": True}

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        entries: Optional[List[NameEntry]] = None,
    ) -> None:
        self._config = config
        self._model_storage = model_storage
        self._resource = resource
        # Only the knowledge's names are cut out: answer words ("entreprise") tell the language.
        self._matcher = NameMatcher([e for e in entries or [] if e.entity in KNOWLEDGE_ENTITIES])

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "LanguageDetector":
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        entries = name_entries(training_data)
        save_entries(self._model_storage, self._resource, entries)
        self._matcher = NameMatcher([e for e in entries if e.entity in KNOWLEDGE_ENTITIES])
        return self._resource

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> "LanguageDetector":
        if config.get("preload_model", True):
            detector()
        return cls(config, model_storage, resource, load_entries(model_storage, resource))

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            detected, requested = detect_language(text, self._matcher), explicit_language_request(text)
            message.set(LANGUAGE, {"detected": detected, "requested": requested}, add_to_output=True)
            if detected == OTHER:
                _route(message, OTHER_LANGUAGE_INTENT)
            elif requested and _classified_as(message) in WEAK_INTENTS:
                _route(message, SWITCH_LANGUAGE_INTENT)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data
