"""components.intent_classifier.TfidfIntentClassifier on real Rasa messages: the pipeline's
tokenizer and featurizers, then train, persist, load and process."""

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.linear_model import LogisticRegression

from components.intent_classifier import TfidfIntentClassifier
from components.names_featurizer import NamePresenceFeaturizer

EXAMPLES = {
    "greet": ["hello", "hi there", "good morning", "bonjour", "salut", "hey, hello"],
    "goodbye": ["bye", "goodbye", "see you later", "au revoir", "bye bye", "à bientôt"],
    "ask_cluster_info": ["what is Skywin?", "tell me about BioWin", "c'est quoi Skywin ?",
                         "parle-moi de BioWin", "what does Skywin do?", "BioWin?"],
    "compare_clusters": ["compare Skywin and BioWin", "Skywin vs BioWin", "différence entre Skywin et BioWin",
                         "how do Skywin and BioWin differ?", "compare BioWin with Skywin"],
}
LOOKUP = [{"name": "cluster", "elements": ["Skywin", "BioWin"]}]


def context(name):
    return ExecutionContext(GraphSchema({}), node_name=name)


class Pipeline:
    """The assistant's featurizing steps (config.yml), each trained on the same data."""

    def __init__(self, storage):
        self.tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
        self.featurizers = [
            NamePresenceFeaturizer.create(NamePresenceFeaturizer.get_default_config(), storage, Resource("names"), context("names")),
            CountVectorsFeaturizer.create({**CountVectorsFeaturizer.get_default_config(), "max_ngram": 2},
                                          storage, Resource("words"), context("words")),
            CountVectorsFeaturizer.create({**CountVectorsFeaturizer.get_default_config(), "analyzer": "char_wb",
                                           "min_ngram": 1, "max_ngram": 4}, storage, Resource("chars"), context("chars")),
        ]

    def train(self, data):
        self.tokenizer.process_training_data(data)
        for featurizer in self.featurizers:
            featurizer.train(data)
            featurizer.process_training_data(data)
        return data

    def featurize(self, texts):
        messages = [Message(data={"text": text}) for text in texts]
        self.tokenizer.process(messages)
        for featurizer in self.featurizers:
            featurizer.process(messages)
        return messages


def training_data(examples=EXAMPLES):
    messages = [Message(data={"text": text, "intent": intent}) for intent, texts in examples.items() for text in texts]
    return TrainingData(messages, lookup_tables=LOOKUP)


@pytest.fixture
def storage(tmp_path):
    return LocalModelStorage(tmp_path)


@pytest.fixture
def trained(storage):
    pipeline = Pipeline(storage)
    data = pipeline.train(training_data())
    classifier = TfidfIntentClassifier.create({}, storage, Resource("intent"), context("intent"))
    classifier.train(data)
    return pipeline, classifier, data


def test_it_classifies_unseen_phrasings(trained):
    pipeline, classifier, _ = trained
    messages = classifier.process(pipeline.featurize(["hello again", "what is BioWin", "Skywin or BioWin, compare them"]))
    assert [m.get("intent")["name"] for m in messages] == ["greet", "ask_cluster_info", "compare_clusters"]
    for message in messages:
        ranking = message.get("intent_ranking")
        confidences = [r["confidence"] for r in ranking]
        assert ranking[0] == message.get("intent")
        assert confidences == sorted(confidences, reverse=True)
        assert sum(confidences) == pytest.approx(1.0)
        assert message.as_dict_nlu()["intent"] == message.get("intent")  # in the parse output


def test_counts_are_tf_idf_weighted_and_name_flags_kept_as_they_are(trained):
    _, classifier, data = trained
    tfidf = {b["origin"]: b["idf"] is not None for b in classifier._blocks}
    assert tfidf == {"names": False, "words": True, "chars": True}
    matrix = classifier._matrix(data.intent_examples).toarray()
    widths = [b["width"] for b in classifier._blocks]
    names, words, chars = np.split(matrix, np.cumsum(widths)[:-1], axis=1)
    assert set(np.unique(names)) <= {0.0, 1.0}
    assert np.linalg.norm(words, axis=1) == pytest.approx(1.0)
    assert np.linalg.norm(chars, axis=1) == pytest.approx(1.0)


def test_a_feature_of_every_message_gets_no_weight(trained):
    pipeline, classifier, data = trained
    chars = next(b for b in classifier._blocks if b["origin"] == "chars")
    start = sum(b["width"] for b in classifier._blocks[: classifier._blocks.index(chars)])
    raw = np.vstack([e.get_sparse_features("text", ["chars"])[1].features.toarray() for e in data.intent_examples])
    in_every_message = (raw > 0).all(axis=0)
    assert in_every_message.any()  # the space that char_wb pads words with
    assert (chars["idf"][in_every_message] == 0).all() and (chars["idf"][~in_every_message] > 0).all()
    # Emoji share only that padding with the training data: nothing is left, as for an empty message.
    assert classifier._matrix(pipeline.featurize(["🙂🚀🎉"])).nnz == 0
    assert classifier._matrix(pipeline.featurize(["hello"]))[:, start:start + chars["width"]].nnz > 0


def test_probabilities_are_those_of_sklearn_logistic_regression(trained):
    pipeline, classifier, data = trained
    model = LogisticRegression(C=100, max_iter=1000, class_weight="balanced", random_state=42)
    model.fit(classifier._matrix(data.intent_examples), [e.get("intent") for e in data.intent_examples])
    messages = pipeline.featurize(["good morning", "compare them", "Skywin"])
    expected = model.predict_proba(classifier._matrix(messages))
    assert classifier._probabilities(classifier._matrix(messages)) == pytest.approx(expected, abs=1e-6)


def test_the_persisted_model_loads_and_predicts_the_same(trained, storage):
    pipeline, classifier, _ = trained
    loaded = TfidfIntentClassifier.load({}, storage, Resource("intent"), context("intent"))
    texts = ["hi", "au revoir", "c'est quoi BioWin ?", "Skywin contre BioWin", "asdfgh"]
    before = [m.get("intent_ranking") for m in classifier.process(pipeline.featurize(texts))]
    after = [m.get("intent_ranking") for m in loaded.process(pipeline.featurize(texts))]
    assert [[r["name"] for r in ranking] for ranking in after] == [[r["name"] for r in ranking] for ranking in before]
    for b, a in zip(before, after):
        assert [r["confidence"] for r in a] == pytest.approx([r["confidence"] for r in b])


def test_the_ranking_is_cut_at_its_length(storage):
    pipeline = Pipeline(storage)
    data = pipeline.train(training_data())
    classifier = TfidfIntentClassifier.create({"ranking_length": 2}, storage, Resource("intent"), context("intent"))
    classifier.train(data)
    (message,) = classifier.process(pipeline.featurize(["hello"]))
    assert len(message.get("intent_ranking")) == 2


def test_two_intents_give_the_logistic_probabilities(storage):
    pipeline = Pipeline(storage)
    data = pipeline.train(training_data({k: EXAMPLES[k] for k in ("greet", "goodbye")}))
    classifier = TfidfIntentClassifier.create({}, storage, Resource("intent"), context("intent"))
    classifier.train(data)
    messages = pipeline.featurize(["hello friend", "bye friend"])
    model = LogisticRegression(C=100, max_iter=1000, class_weight="balanced", random_state=42)
    model.fit(classifier._matrix(data.intent_examples), [e.get("intent") for e in data.intent_examples])
    expected = model.predict_proba(classifier._matrix(messages))
    assert classifier._probabilities(classifier._matrix(messages)) == pytest.approx(expected, abs=1e-6)
    assert [m.get("intent")["name"] for m in classifier.process(messages)] == ["greet", "goodbye"]


def test_a_message_without_features_still_gets_an_intent(trained):
    _, classifier, _ = trained
    (message,) = classifier.process([Message(data={"text": ""})])
    assert message.get("intent")["name"] in EXAMPLES


def test_without_intent_examples_it_is_left_out(storage):
    classifier = TfidfIntentClassifier.create({}, storage, Resource("intent"), context("intent"))
    classifier.train(TrainingData([]))
    loaded = TfidfIntentClassifier.load({}, storage, Resource("intent"), context("intent"))
    (message,) = loaded.process([Message(data={"text": "hello"})])
    assert message.get("intent") is None
