"""Extracts `cluster`, `sector` and `cluster_type` entities with the knowledge base's name
matcher (and the guided dialogue's `organisation_type` and `goal` the same way), and flags the
words that look like a name nobody knows (`unknown_name`).

The names come from the lookup tables and synonyms that `scripts/generate_nlu_names.py` writes
from `knowledge/` into the training data (components/names.py), so Rasa retrains when a name
changes."""

from typing import Any, Dict, List, Optional, Set, Text

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components.names import KNOWLEDGE_ENTITIES, NamesComponent
from kb.names import NameEntry, NameMatcher
from kb.text import tokenize

UNKNOWN_NAME = "unknown_name"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=True)
class KnowledgeEntityExtractor(NamesComponent, EntityExtractorMixin):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        # Words this short are never flagged as unknown names ("ok", "yes", "the").
        return {"unknown_name_min_length": 4}

    def _build(self, entries: List[NameEntry], vocabulary: Set[str]) -> None:
        self._matcher = NameMatcher(entries, KNOWLEDGE_ENTITIES)
        self._known_words = vocabulary

    def _vocabulary(self, training_data: TrainingData) -> Set[str]:
        """Every word of the training examples outside entity spans: a word outside this
        vocabulary, in a message that names no cluster, may be a name the assistant lacks."""
        words: Set[str] = set()
        for example in training_data.nlu_examples:
            text = example.get(TEXT) or ""
            spans = [(e["start"], e["end"]) for e in example.get(ENTITIES) or []]
            words.update(t.norm for t in tokenize(text) if not any(s <= t.start < e for s, e in spans))
        return words

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            entities = self._extract(text)
            if entities:
                message.set(ENTITIES, message.get(ENTITIES, []) + self.add_extractor_name(entities), add_to_output=True)
        return messages

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
                token.norm not in self._known_words
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
