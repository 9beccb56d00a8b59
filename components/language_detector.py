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

from typing import Any, Dict, List, Optional, Set, Text

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from components.names import KNOWLEDGE_ENTITIES, NamesComponent, route
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


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=True)
class LanguageDetector(NamesComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        # Build the model when the assistant loads rather than on the first message (~1 s).
        return {"preload_model": True}

    def _build(self, entries: List[NameEntry], vocabulary: Set[str]) -> None:
        # Only the knowledge's names are cut out: answer words ("entreprise") tell the language.
        self._matcher = NameMatcher([e for e in entries if e.entity in KNOWLEDGE_ENTITIES])

    @classmethod
    def load(cls, *args: Any, **kwargs: Any) -> "LanguageDetector":
        component = super().load(*args, **kwargs)
        if component._config.get("preload_model", True):
            detector()
        return component

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            detected, requested = detect_language(text, self._matcher), explicit_language_request(text)
            message.set(LANGUAGE, {"detected": detected, "requested": requested}, add_to_output=True)
            if detected == OTHER:
                route(message, OTHER_LANGUAGE_INTENT)
            elif requested and _classified_as(message) in WEAK_INTENTS:
                route(message, SWITCH_LANGUAGE_INTENT)
        return messages

