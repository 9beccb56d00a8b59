"""Gives the intent classifier the fact that a message names a cluster, two clusters, a sector,
a cluster type or a guided-dialogue answer, so that "bio win?" is a question about BioWin even though the classifier has
never seen those words. Names come from the same generated lookup tables as the extractor."""

from typing import Any, Dict, List, Text

import numpy as np
import scipy.sparse
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.featurizers.sparse_featurizer.sparse_featurizer import SparseFeaturizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components.names import KNOWLEDGE_ENTITIES, NAME_ENTITIES, load_entries, name_entries, save_entries
from kb.names import NameMatcher

# One column per entity named in the message, and one for "names two clusters or more".
_COLUMNS = len(NAME_ENTITIES) + 1


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True)
class NamePresenceFeaturizer(SparseFeaturizer, GraphComponent):
    @classmethod
    def create(
        cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource, execution_context: ExecutionContext
    ) -> "NamePresenceFeaturizer":
        return cls(config, model_storage, resource, execution_context)

    def __init__(
        self, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
        execution_context: ExecutionContext, entries: List = None,
    ) -> None:
        SparseFeaturizer.__init__(self, execution_context.node_name, config)
        self._model_storage, self._resource = model_storage, resource
        self._matcher = NameMatcher(entries or [], KNOWLEDGE_ENTITIES)

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        pass

    def train(self, training_data: TrainingData) -> Resource:
        entries = name_entries(training_data)
        save_entries(self._model_storage, self._resource, entries)
        self._matcher = NameMatcher(entries, KNOWLEDGE_ENTITIES)
        return self._resource

    @classmethod
    def load(
        cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
        execution_context: ExecutionContext, **kwargs: Any,
    ) -> "NamePresenceFeaturizer":
        return cls(config, model_storage, resource, execution_context, load_entries(model_storage, resource)[0])

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self.process(training_data.training_examples)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            tokens = message.get(TOKENS_NAMES[TEXT])
            if not tokens:  # intent-only examples (e.g. stories) have no text to featurize
                continue
            matches = self._matcher.find(message.get(TEXT) or "")
            sequence = np.zeros((len(tokens), _COLUMNS))
            sentence = np.zeros((1, _COLUMNS))
            for match in matches:
                column = NAME_ENTITIES.index(match.entity)
                sentence[0, column] = 1
                for row, token in enumerate(tokens):
                    if match.start <= token.start < match.end:
                        sequence[row, column] = 1
            sentence[0, -1] = len({m.value for m in matches if m.entity == "cluster"}) >= 2
            self.add_features_to_message(
                scipy.sparse.coo_matrix(sequence), scipy.sparse.coo_matrix(sentence), TEXT, message
            )
        return messages
