"""What the custom NLU components share: the names of the training data's lookup tables (the
knowledge's names, generated from knowledge/, and the guided dialogue's answer words), mapped by
their synonyms to canonical values and saved with the model, so that a model is self-contained."""

import json
from typing import Any, Dict, List, Optional, Set, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from kb.names import NameEntry

# Entities found by name: the knowledge's names (data/nlu/generated/names.yml) and the guided
# dialogue's answer words (data/nlu/form_vocabulary.yml).
NAME_ENTITIES = ("cluster", "sector", "cluster_type", "organisation_type", "goal")
# The knowledge's names. Only their misspellings are matched: the answer words are common words
# ("industriel" is not "industrie").
KNOWLEDGE_ENTITIES = ("cluster", "sector", "cluster_type")
_MODEL_FILE = "names.json"


def name_entries(training_data: TrainingData) -> List[NameEntry]:
    """The names of the lookup tables, each mapped by its synonym to a canonical value."""
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


def load_entries(model_storage: ModelStorage, resource: Resource) -> Any:
    """(entries, vocabulary) as saved; none when the component was never trained."""
    try:
        with model_storage.read_from(resource) as directory:
            data = json.loads((directory / _MODEL_FILE).read_text(encoding="utf-8"))
    except ValueError:  # not trained (e.g. `rasa train core` alone)
        data = {"entries": [], "vocabulary": []}
    return [NameEntry(*row) for row in data["entries"]], set(data["vocabulary"])


class NamesComponent(GraphComponent):
    """A component that trains by saving the names (and, if it needs one, a vocabulary) and
    builds what it matches with from them (`_build`)."""

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
        self._build(entries or [], vocabulary or set())

    def _build(self, entries: List[NameEntry], vocabulary: Set[str]) -> None:
        raise NotImplementedError

    def _vocabulary(self, training_data: TrainingData) -> Set[str]:
        """What to save besides the names; nothing by default."""
        return set()

    @classmethod
    def create(
        cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
        execution_context: ExecutionContext,
    ) -> "NamesComponent":
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        entries, vocabulary = name_entries(training_data), self._vocabulary(training_data)
        save_entries(self._model_storage, self._resource, entries, vocabulary)
        self._build(entries, vocabulary)
        return self._resource

    @classmethod
    def load(
        cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
        execution_context: ExecutionContext, **kwargs: Any,
    ) -> "NamesComponent":
        entries, vocabulary = load_entries(model_storage, resource)
        return cls(config, model_storage, resource, entries, vocabulary)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data


def route(message: Message, intent: str) -> None:
    """Sets a message's intent, as a rule-based classifier would (certain, alone in the ranking)."""
    message.set(INTENT, {INTENT_NAME_KEY: intent, PREDICTED_CONFIDENCE_KEY: 1.0}, add_to_output=True)
    message.set(INTENT_RANKING_KEY, [{INTENT_NAME_KEY: intent, PREDICTED_CONFIDENCE_KEY: 1.0}], add_to_output=True)
