"""The trained NLU pipeline on its own: French elisions, names inside them, languages."""

import asyncio

import pytest
from rasa.core.agent import Agent
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.training_data.message import Message

from components.understanding import UnderstandingExtractor
from kb.understand import load_understanding
from tests.servers import ensure_model


@pytest.fixture(scope="module")
def agent():
    return Agent.load(str(ensure_model()))


def parse(agent, text):
    return asyncio.run(agent.parse_message(text))


@pytest.mark.parametrize(
    "text, words",
    [("l'aéronautique", ["l", "aéronautique"]), ("réseau d'entreprises", ["réseau", "d", "entreprises"]),
     ("c’est quoi", ["c", "est", "quoi"])],
)
def test_the_tokenizer_splits_french_elisions(text, words):
    tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
    assert [t.text for t in tokenizer.tokenize(Message(data={"text": text}), "text")] == words


@pytest.mark.parametrize(
    "text, cluster",
    [("c'est quoi l'Infopole ?", "infopole-cluster-tic"), ("parle-moi d'Eco-building", "eco-building"),
     ("les axes d’Skywin", "skywin")],
)
def test_names_inside_elisions_are_found(agent, text, cluster):
    entities = parse(agent, text)["entities"]
    assert [e["value"] for e in entities if e["entity"] == "cluster"] == [cluster]


@pytest.mark.parametrize(
    "text, detected",
    [("What is Cluster Photonique?", "en"), ("C'est quoi Logistics in Wallonia ?", "fr"),
     ("Skywin", "unknown"), ("ok", "unknown"), ("Wat is een cluster?", "other")],
)
def test_the_language_of_each_message(agent, text, detected):
    assert parse(agent, text)["language"]["detected"] == detected


def test_a_message_in_german_goes_to_its_own_intent(agent):
    assert parse(agent, "Können Sie mir bitte etwas über die Cluster erzählen?")["intent"]["name"] == "other_language"


def test_entities_of_the_guided_dialogue(agent):
    parsed = parse(agent, "actually we are a research centre")
    assert ("organisation_type", "research") in {(e["entity"], e["value"]) for e in parsed["entities"]}
    parsed = parse(agent, "nous cherchons des partenaires R&D")
    assert ("goal", "rnd") in {(e["entity"], e["value"]) for e in parsed["entities"]}


def test_the_training_cache_sees_a_changed_vocabulary(monkeypatch, tmp_path):
    """Rasa caches a trained component by what the graph gives it; the vocabulary comes from
    knowledge/, so it is added to the fingerprint (a model must never keep an old vocabulary)."""
    import shutil

    import components.understanding as understanding
    from kb.loader import DEFAULT_KNOWLEDGE_DIR
    from kb.understand import read_vocabulary

    before = understanding.UnderstandingExtractor.fingerprint_addon({})
    shutil.copy(DEFAULT_KNOWLEDGE_DIR / "vocabulary.yml", tmp_path / "vocabulary.yml")
    with (tmp_path / "vocabulary.yml").open("a", encoding="utf-8") as vocabulary:
        vocabulary.write("\n")  # the same data: the same fingerprint
    monkeypatch.setattr(understanding, "read_vocabulary", lambda: read_vocabulary(tmp_path))
    assert understanding.UnderstandingExtractor.fingerprint_addon({}) == before
    text = (tmp_path / "vocabulary.yml").read_text(encoding="utf-8").replace("en: [in general,", "en: [all in all, in general,")
    (tmp_path / "vocabulary.yml").write_text(text, encoding="utf-8")
    assert understanding.UnderstandingExtractor.fingerprint_addon({}) != before


def _fallback(ranking):
    text = "we sort the rubble we collect"
    message = Message(data={"text": text})
    message.set("intent", {"name": "nlu_fallback", "confidence": 0.3})
    message.set("intent_ranking", [{"name": "nlu_fallback", "confidence": 0.3}]
                + [{"name": n, "confidence": c} for n, c in ranking])
    UnderstandingExtractor._decide(message, load_understanding().read(text))
    return message.get("intent")["name"]


def test_hesitating_between_two_intents_of_one_dialogue_is_no_fallback():
    assert _fallback([("describe_activity", 0.51), ("recommend_cluster", 0.41)]) == "describe_activity"
    assert _fallback([("recommend_cluster", 0.45), ("describe_activity", 0.44)]) == "recommend_cluster"


def test_hesitating_between_two_dialogues_or_being_unsure_stays_a_fallback():
    assert _fallback([("describe_activity", 0.45), ("ask_join", 0.44)]) == "nlu_fallback"
    assert _fallback([("describe_activity", 0.25), ("recommend_cluster", 0.2)]) == "nlu_fallback"


@pytest.mark.parametrize("text, entities", [
    ("membership process of TWIST", [{"entity": "cluster", "value": "twist", "start": 22, "end": 27}]),
    ("who is eligible for membership and what does the membership fee cost", []),
])
def test_the_words_of_joining_keep_a_joining_question(text, entities):
    message = Message(data={"text": text})
    message.set("intent", {"name": "ask_join", "confidence": 0.45})
    message.set("entities", entities)
    UnderstandingExtractor._decide(message, load_understanding().read(text))
    assert message.get("intent")["name"] == "ask_join"
