"""kb/understand.py: what a message asks beyond its intent, from knowledge/vocabulary.yml."""

import re

import pytest
import yaml

from kb.loader import KnowledgeError
from kb.understand import (
    LAST,
    Reading,
    founding_date,
    founding_year,
    load_understanding,
    parse_position,
    premise_corrections,
    resolve_targets,
)


@pytest.fixture(scope="module")
def understanding():
    return load_understanding()


@pytest.mark.parametrize("text, attributes", [
    ("how big is skywin", ("members",)),
    ("quelles sont les priorités de Skywin ?", ("strategy",)),
    ("what type of companies are in skywin", ("members",)),  # the longer phrase wins over "type"
    ("the websites of skywin and biowin, and when were they founded", ("website", "founded")),
    ("plastiwin c'est quoi et c'est dans quel secteur ?", ("overview", "sector")),
    ("what is the website of skywin", ("website",)),  # "what is" alone asks nothing here
])
def test_attributes_in_the_order_asked(understanding, text, attributes):
    assert understanding.read(text).attributes == attributes


@pytest.mark.parametrize("text, fact", [
    ("who is the director of biowin", "director"),
    ("combien d'employés chez Skywin ?", "headcount"),
    ("their phone number?", "phone"),
])
def test_facts_nobody_has(understanding, text, fact):
    assert fact in understanding.read(text).unknown_facts


@pytest.mark.parametrize("text, reference", [
    ("and the other one?", "other"), ("et l'autre ?", "other"), ("tous les deux", "both"),
    ("which of those are poles", "filter"), ("no, I meant the other cluster", "correction"),
])
def test_references_to_the_clusters_shown(understanding, text, reference):
    assert reference in understanding.read(text).references


@pytest.mark.parametrize("text, out_of_scope", [
    ("how do I set up a kubernetes cluster", True),
    ("les amas de galaxies, c'est quoi ?", True),
    ("are there competitiveness clusters in Flanders too?", True),
    ("we build servers for hospitals", False),  # an activity, not "cluster" in another sense
    ("the walloon clusters, not the flemish ones", False),  # about Wallonia after all
])
def test_cluster_in_another_sense(understanding, text, out_of_scope):
    assert understanding.read(text).out_of_scope is out_of_scope


def test_orders_and_positions(understanding):
    assert understanding.read("which one is the oldest?").order == "oldest"
    assert understanding.read("lequel a été créé en dernier ?").order == "newest"
    assert parse_position("tell me about the second one") == 2
    assert parse_position("le dernier") == LAST
    assert parse_position("hello") is None


@pytest.mark.parametrize("text, position", [
    ("and the last one?", LAST),
    ("how long do the labels last", None),  # a verb, not a position
    ("the 4th", 4),
    ("number 2 please", 2),
    ("5", 5),
    ("le 3", 3),
    ("are the 2 of them poles?", None),  # a group: both
    ("ces 3 sont-ils des pôles ?", None),
    ("we are a shop with 7 employees in Namur", None),  # a quantity
])
def test_positions_and_numbers_that_are_not(text, position):
    assert parse_position(text) == position


@pytest.mark.parametrize("text, asked", [
    ("list the poles", "competitiveness"),
    ("the clusters, not the poles", "business"),
    ("les clusters hors pôles", "business"),
    ("every cluster and pole you know", None),
    ("and the poles?", "competitiveness"),  # "and" joins no cluster word here
    ("how many clusters, poles included", None),
    ("les clusters y compris les pôles", None),
])
def test_the_cluster_type_a_list_asks_for(understanding, text, asked):
    mentions = [("competitiveness", m.start(), m.end()) for m in re.finditer(r"p[oô]les?", text)]
    assert understanding.asked_type(text, mentions, ["business", "competitiveness"]) == asked


def test_counting_clusters_is_not_counting_members(understanding):
    assert understanding.read("how many poles exist?").counting is True
    assert understanding.read("combien de clusters d'entreprises en Wallonie").counting is True
    assert understanding.read("how many members does the cluster have?").counting is False


def test_same_sector_is_a_filter_not_the_sector_asked(understanding):
    reading = understanding.read("the other pole in the same sector")
    assert "same_sector" in reading.references and "sector" not in reading.attributes


def test_typed_answers_to_the_guided_dialogue(understanding):
    assert understanding.form_answer("organisation_type", "a universty lab") == "research"
    assert understanding.form_answer("organisation_type", "on est une start up") == "startup"
    assert understanding.form_answer("goal", "being more visible abroad") == "visibility"
    assert understanding.form_answer("goal", "des projets de r&d") == "rnd"
    assert understanding.form_answer("goal", "the weather") is None


def test_a_question_in_the_words_of_a_list_is_about_that_list(understanding, knowledge):
    eco = knowledge.cluster("val-plus")
    assert understanding.matching_lists(eco, "does it take asbestos?", ignore=["val+"]) == ["scope"]
    assert understanding.mentions(knowledge.cluster("skywin"), "which of these work on composites") is True
    assert understanding.mentions(knowledge.cluster("biowin"), "which of these work on composites") is False


def test_the_clusters_a_follow_up_means(knowledge):
    shown, none = ["skywin", "biowin", "mecatech"], {"sector": None, "cluster_type": None}

    def targets(references=(), order=None, named=(), focus=None, position=None, filters=none, listed=shown):
        reading = Reading(references=tuple(references), order=order)
        return resolve_targets(reading, list(named), listed, focus, position, knowledge, filters)

    assert targets(position=LAST).clusters == ("mecatech",)
    assert targets(["other"], focus="skywin", listed=["skywin", "biowin"]).clusters == ("biowin",)
    assert targets(["both"]).how == "group"
    assert targets(["filter"], filters={"sector": None, "cluster_type": "competitiveness"}).clusters == tuple(shown)
    ordered = targets(order="oldest", listed=["greenwin", "twist", "biowin"])
    assert ordered.clusters == ("biowin", "greenwin") and ordered.undated == ("twist",)
    assert targets(["correction", "other"], focus="skywin", listed=["skywin", "biowin"]).clusters == ("biowin",)
    assert targets(named=["twist"]).clusters == ("twist",)
    # A correction nothing shown answers: the one cluster, among all, of the type and sector given.
    pole_of_food = {"sector": "food-health", "cluster_type": "competitiveness"}
    assert targets(["correction"], focus="twist", listed=["twist"], filters=pole_of_food).how == "focus"  # two fit
    assert targets(["correction"], focus="biowin", listed=["biowin"], filters=pole_of_food).clusters == ("wagralim",)
    assert targets(["other", "same_sector"], focus="wagralim", listed=["wagralim"],
                   filters={"sector": None, "cluster_type": "competitiveness"}).clusters == ("biowin",)
    described = resolve_targets(Reading(references=("correction",)), [], ["val-plus"], "val-plus", None, knowledge,
                                {"sector": None, "cluster_type": "competitiveness"}, matches=["greenwin", "val-plus"])
    assert described.clusters == ("greenwin",)
    assert targets(focus="biowin", listed=[]).how == "focus"


def test_founding_years_and_wrong_premises(knowledge):
    assert founding_year(knowledge.cluster("plastiwin")) == 2008
    assert founding_year(knowledge.cluster("twist")) is None
    assert founding_date(knowledge.cluster("tweed")) < founding_date(knowledge.cluster("plastiwin"))  # March, December 2008
    assert founding_date(knowledge.cluster("eco-building")) == (2003, 0)
    wrong_type = premise_corrections("since skywin is a business cluster", ["skywin"], ["business"], [], knowledge)
    assert [(c.kind, c.actual) for c in wrong_type] == [("type", "competitiveness")]
    wrong_year = premise_corrections("plastiwin, founded in 1995?", ["plastiwin"], [], [], knowledge)
    assert [(c.kind, c.claimed, c.actual) for c in wrong_year] == [("year", "1995", "2008")]
    wrong_count = premise_corrections("the 8 competitiveness clusters", [], ["competitiveness"], [], knowledge)
    assert [(c.kind, c.claimed, c.actual) for c in wrong_count] == [("count", "8", "6")]
    assert premise_corrections("skywin, the aerospace pole", ["skywin"], ["competitiveness"], [], knowledge) == []


def test_a_broken_vocabulary_names_its_file_entry_and_problem(knowledge_copy):
    path = knowledge_copy / "vocabulary.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["attributes"]["website"]["fr"] = []
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(KnowledgeError) as error:
        load_understanding(knowledge_copy)
    assert "vocabulary.yml" in str(error.value) and "attributes.website" in str(error.value)
    path.write_text("attributes: [unclosed", encoding="utf-8")
    with pytest.raises(KnowledgeError, match="invalid YAML"):
        load_understanding(knowledge_copy)


def test_the_others_are_all_but_the_one_in_focus(understanding, knowledge):
    reading = understanding.read("are the other two poles?")
    assert "others" in reading.references
    targets = resolve_targets(reading, [], ["skywin", "biowin", "tweed"], "skywin", None, knowledge,
                              {"sector": None, "cluster_type": "competitiveness"})
    assert targets.clusters == ("biowin", "tweed") and targets.how == "group"
    assert premise_corrections("are the other two poles?", [], ["competitiveness"], [], knowledge) == []


@pytest.mark.parametrize("text, topic, paragraph", [
    ("what are a cluster's missions under the decree?", "cluster_types_difference", "four missions"),
    ("un cluster a quelles missions selon le décret ?", "cluster_types_difference", "four missions"),
])
def test_a_rare_word_of_the_question_singles_out_its_paragraph(understanding, knowledge, text, topic, paragraph):
    corpus = [p for t in knowledge.topics.values() for p in t.paragraphs]
    paragraphs = knowledge.topics[topic].paragraphs
    found = understanding.relevant_paragraphs(paragraphs, text, corpus, attribute_words_count=True)
    assert found and all(paragraph in paragraphs[i].text.en for i in found)


@pytest.mark.parametrize("text", [
    "what's the legal basis for walloon business clusters, is there a decree?",
    "is there a reform of the clusters coming? heard something in the news",
])
def test_the_words_around_an_attribute_single_out_no_paragraph(understanding, knowledge, text):
    corpus = [p for t in knowledge.topics.values() for p in t.paragraphs]
    assert not any(understanding.relevant_paragraphs(t.paragraphs, text, corpus, attribute_words_count=True)
                   for t in knowledge.topics.values())


def test_a_star_in_a_phrase_stands_for_any_one_word(understanding):
    assert understanding.form_answer("goal", "pas trop sûr") == "unsure"
    assert understanding.form_answer("goal", "not really sure") == "unsure"
    assert understanding.form_answer("goal", "not sure at all") == "unsure"
