"""Adds what `kb.understand` reads in a message, beyond its intent, as entities that the actions
and the policies use:
- `attribute`: what is asked of a cluster (strategy, members, sector, type, website, founded,
  french_name, notes), one entity per attribute, in the order asked ("X's website and its date");
- `unknown_fact`: a fact the sources give for no cluster (headcount, director, email, phone,
  address, fee, budget, projects_count);
- `reference`: what a follow-up points at among the clusters last shown (other, both, all,
  plural, filter, correction), and `position` ("the second one": 2, "the last": 0);
- `order`: an ordering by founding date (oldest, newest);
- `other_sense`: "cluster" in another sense or of another region (computing, science, medicine,
  other_region, everyday).

It also decides, with the classifier's intent, what the message is (the classifier alone does
not): "cluster" in another sense, in a message that names no Walloon cluster and no word of
Wallonia's, is out of scope whatever the classifier says; a message that asks for an attribute
or a fact of a cluster it names, or of the one just talked about, is a question about that
cluster even when the classifier hesitates.

The vocabulary (knowledge/vocabulary.yml) is read when training and saved with the model, so a
model is self-contained; scripts/train_if_changed.sh retrains when it changes."""

import json
from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_NAME_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components.names import route
from kb.understand import Understanding, load_understanding, read_vocabulary

_MODEL_FILE = "vocabulary.json"
OUT_OF_SCOPE = "out_of_scope"
# Intents a cluster question may be mistaken for; an attribute word with a cluster then wins.
UNSURE = {None, "nlu_fallback", "out_of_scope", "greet", "thank", "help", "list_clusters", "list_sectors"}
ASK_CLUSTER_INFO = "ask_cluster_info"
# Below this confidence the classifier's intent is a guess that the words may overrule.
CONFIDENT = 0.6


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
                     for entity, value in self._understanding.entity_values(text)]
            if found:
                message.set(ENTITIES, message.get(ENTITIES, []) + self.add_extractor_name(found), add_to_output=True)
            self._decide(message, reading)
        return messages

    @staticmethod
    def _decide(message: Message, reading: Any) -> None:
        entities = message.get(ENTITIES) or []
        names_a_cluster = any(e.get("entity") == "cluster" for e in entities)
        intent = message.get(INTENT) or {}
        name, confidence = intent.get(INTENT_NAME_KEY), intent.get(PREDICTED_CONFIDENCE_KEY) or 0.0
        if reading.other_sense and not names_a_cluster and not reading.in_scope:
            route(message, OUT_OF_SCOPE)
        elif names_a_cluster and (reading.attributes or reading.unknown_facts) and (name in UNSURE or confidence < CONFIDENT):
            if name not in UNSURE and name is not None and name.startswith("ask_cluster_"):
                return
            route(message, ASK_CLUSTER_INFO)
