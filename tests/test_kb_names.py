"""The name matcher: names found however they are written, misspellings included, and no
false names in ordinary sentences."""

import pytest

from kb.names import NameEntry, NameMatcher


def found(matcher, text, entity="cluster"):
    return [m.value for m in matcher.find(text) if m.entity == entity]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Tell me about SKYWIN", "skywin"),
        ("what is skywinn?", "skywin"),
        ("bio win?", "biowin"),
        ("mecatec please", "mecatech"),
        ("what does green win do", "greenwin"),
        ("the ICT cluster", "infopole-cluster-tic"),
        ("Val+ members", "val-plus"),
        ("val plus", "val-plus"),
        ("c'est quoi l'Infopole ?", "infopole-cluster-tic"),
        ("Cluster Photonique", "cluster-photonique"),
        ("WagrALIM", "wagralim"),
        ("wagralim", "wagralim"),
        ("Logistics in Wallonia", "logistics-in-wallonia"),
        ("plastiwin", "plastiwin"),
        ("TWEED cluster", "tweed"),
        ("twist", "twist"),
        ("CAP 2020", "cap-2020"),
        ("eco-building", "eco-building"),
        ("ecobuilding", "eco-building"),
    ],
)
def test_cluster_names_are_found(matcher, text, expected):
    assert found(matcher, text) == [expected]


def test_match_spans_point_into_the_original_text(matcher):
    text = "Compare Bio Win and MécaTech, please"
    matches = [m for m in matcher.find(text) if m.entity == "cluster"]
    assert [(m.value, text[m.start:m.end]) for m in matches] == [("biowin", "Bio Win"), ("mecatech", "MécaTech")]


@pytest.mark.parametrize(
    "text",
    ["what's the weather like in Namur", "tell me a joke", "book a flight to Paris", "wealthy companies", "hello there"],
)
def test_ordinary_sentences_name_no_cluster(matcher, text):
    assert found(matcher, text) == []


def test_sectors_and_types_are_found(matcher):
    assert found(matcher, "clusters in the health sector", "sector") == ["food-health"]
    assert found(matcher, "list the competitiveness clusters", "cluster_type") == ["competitiveness"]
    assert found(matcher, "les pôles de compétitivité", "cluster_type") == ["competitiveness"]
    assert found(matcher, "Transversal Technologies", "sector") == ["transversal-technologies"]


def test_closest_names_for_an_unknown_name(matcher):
    closest = [c for c, _ in matcher.closest("Skywind")]
    assert closest[0] == "skywin"
    assert [c for c, _ in matcher.closest("mecatronix")][0] == "mecatech"


def test_a_new_alias_is_matched_without_other_edits():
    matcher = NameMatcher([NameEntry("cluster", "newcluster", "Hydrowin")])
    assert [m.value for m in matcher.find("what is hydro win")] == ["newcluster"]
    assert [m.value for m in matcher.find("what is hydrowinn")] == ["newcluster"]


def test_longest_name_wins_over_its_parts():
    matcher = NameMatcher([NameEntry("cluster", "a", "cluster tic"), NameEntry("cluster", "b", "tic")])
    assert [m.value for m in matcher.find("the cluster tic")] == ["a"]
