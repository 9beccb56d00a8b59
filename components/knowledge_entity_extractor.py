"""Extracts `cluster`, `sector` and `cluster_type` entities with the knowledge base's name
matcher (and the guided dialogue's `organisation_type` and `goal` the same way), and flags the words that look like a name nobody knows (`unknown_name`).

The names come from the lookup tables and synonyms that `scripts/generate_nlu_names.py` writes
from `knowledge/` into the training data, so Rasa retrains when a name changes."""

import json
from typing import Any, Dict, List, Optional, Set, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from kb.names import NameEntry, NameMatcher, tokenize

# Entities found by name: the knowledge's names (generated lookup tables) and the guided
# dialogue's answer words (data/nlu/form_vocabulary.yml).
NAME_ENTITIES = ("cluster", "sector", "cluster_type", "organisation_type", "goal")
# The knowledge's names. Only their misspellings are matched: the answer words are common words
# ("industriel" is not "industrie").
KNOWLEDGE_ENTITIES = ("cluster", "sector", "cluster_type")
UNKNOWN_NAME = "unknown_name"
_MODEL_FILE = "names.json"


def name_entries(training_data: TrainingData) -> List[NameEntry]:
    """The names of the generated lookup tables, each mapped by its synonym to a canonical id."""
    synonyms = {alias.casefold(): value for alias, value in training_data.entity_synonyms.items()}
    return [
        NameEntry(table["name"], synonyms.get(alias.casefold(), alias), alias)
        for table in training_data.lookup_tables
        if table["name"] in NAME_ENTITIES
        for alias in table["elements"]
    ]


def save_entries(
    model_storage: ModelStorage, resource: Resource, entries: List[NameEntry], vocabulary: Set[str] = frozenset()
) -> None:
    with model_storage.write_to(resource) as directory:
        data = {"entries": [[e.entity, e.value, e.alias] for e in entries], "vocabulary": sorted(vocabulary)}
        (directory / _MODEL_FILE).write_text(json.dumps(data), encoding="utf-8")


def load_entries(model_storage: ModelStorage, resource: Resource, with_vocabulary: bool = False) -> Any:
    """The saved entries (and vocabulary); none when the component was never trained."""
    try:
        with model_storage.read_from(resource) as directory:
            data = json.loads((directory / _MODEL_FILE).read_text(encoding="utf-8"))
    except ValueError:  # not trained (e.g. `rasa train core` alone)
        data = {"entries": [], "vocabulary": []}
    entries = [NameEntry(*row) for row in data["entries"]]
    return (entries, set(data["vocabulary"])) if with_vocabulary else entries


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=True)
class KnowledgeEntityExtractor(GraphComponent, EntityExtractorMixin):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        # Words this short are never flagged as unknown names ("ok", "yes", "the").
        return {"unknown_name_min_length": 4}

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        entries: Optional[List[NameEntry]] = None,
        vocabulary: Optional[Set[str]] = None,
    ) -> None:
        self._config = config
        self._model_storage = model_storage
        self._resource = resource
        self._entries = entries or []
        self._vocabulary = vocabulary or set()
        self._matcher = NameMatcher(self._entries, KNOWLEDGE_ENTITIES)

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "KnowledgeEntityExtractor":
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        self._entries = name_entries(training_data)
        # Every word of the training examples outside entity spans: a word outside this
        # vocabulary, in a message that names no cluster, may be a name the assistant lacks.
        self._vocabulary = set()
        for example in training_data.nlu_examples:
            text = example.get(TEXT) or ""
            spans = [(e["start"], e["end"]) for e in example.get(ENTITIES) or []]
            self._vocabulary.update(
                t.norm for t in tokenize(text) if not any(s <= t.start < e for s, e in spans)
            )
        save_entries(self._model_storage, self._resource, self._entries, self._vocabulary)
        self._matcher = NameMatcher(self._entries, KNOWLEDGE_ENTITIES)
        return self._resource

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> "KnowledgeEntityExtractor":
        entries, vocabulary = load_entries(model_storage, resource, with_vocabulary=True)
        return cls(config, model_storage, resource, entries, vocabulary)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            entities = self._extract(text)
            if entities:
                message.set(ENTITIES, message.get(ENTITIES, []) + self.add_extractor_name(entities), add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def _extract(self, text: str) -> List[Dict[Text, Any]]:
        matches = self._matcher.find(text)
        entities = [
            {"entity": m.entity, "value": m.value, "start": m.start, "end": m.end, "confidence_entity": m.score / 100}
            for m in matches
        ]
        if not any(m.entity == "cluster" for m in matches):
            unknown = self._unknown_name(text, [(m.start, m.end) for m in matches])
            if unknown:
                entities.append(unknown)
        return entities

    def _unknown_name(self, text: str, taken: List[tuple]) -> Optional[Dict[Text, Any]]:
        """The first run of words that no training example uses and no name matched."""
        min_length = self._config["unknown_name_min_length"]
        run: List[Any] = []
        for token in tokenize(text):
            unknown = (
                token.norm not in self._vocabulary
                and not token.norm.isdigit()
                and not any(s <= token.start < e for s, e in taken)
            )
            if unknown and (run or len(token.norm) >= min_length):
                run.append(token)
            elif run:
                break
        if not run:
            return None
        start, end = run[0].start, run[-1].end
        return {"entity": UNKNOWN_NAME, "value": text[start:end], "start": start, "end": end, "confidence_entity": 1.0}
