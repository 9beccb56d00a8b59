"""End-to-end: the real action server and Rasa server, conversations over the REST channel."""

import uuid

import pytest

from tests.servers import button_titles, texts


def new_user() -> str:
    return f"e2e-{uuid.uuid4().hex[:12]}"


def test_describe_then_follow_ups(assistant, knowledge):
    user = new_user()
    answer = texts(assistant.say(user, "What is BioWin?"))
    assert "BioWin is the health competitiveness cluster" in answer and "circa 2010–2013" in answer
    themes = texts(assistant.say(user, "what are its themes?"))
    for theme in knowledge.cluster("biowin").strategy.items:
        assert theme.en in themes
    assert "https://www.biowin.org" in texts(assistant.say(user, "and its website?"))
    assert "2006" in texts(assistant.say(user, "when was it founded?"))


@pytest.mark.parametrize(
    "message, expected",
    [
        ("tell me about skywinn", "Skywin is the Aerospace Competitiveness Cluster"),
        ("bio win?", "BioWin is the health competitiveness cluster"),
        ("what does mecatec do", "MecaTech is the Competitiveness Cluster in Mechanical Engineering"),
        ("tell me about green win", "GreenWin is the Competitiveness Cluster"),
        ("what is the ICT cluster", "Infopole Cluster TIC is the Business Cluster"),
        ("What is Cluster Photonique?", "Business Cluster of the photonics sector"),
    ],
)
def test_names_however_written(assistant, message, expected):
    assert expected in texts(assistant.say(new_user(), message))


def test_attributes(assistant):
    user = new_user()
    assert "Environment and Sustainable Development" in texts(assistant.say(user, "which sector is Val+ in?"))
    members = texts(assistant.say(user, "who are its members?"))
    assert "research centres" in members and "among others" in members
    assert "not known" in texts(assistant.say(user, "what is the website of val+"))
    assert "TWIST is a business cluster" in texts(assistant.say(user, "is TWIST a competitiveness cluster?"))
    assert "mechatronics" in texts(assistant.say(user, "what are the strategic lines of MecaTech?"))


def test_lists_and_picking_from_them(assistant):
    user = new_user()
    listing = texts(assistant.say(user, "which clusters are in the health sector?"))
    assert "BioWin" in listing and "WagrALIM" in listing and "Skywin" not in listing
    assert "WagrALIM is the Competitiveness Cluster dedicated to the food industry" in texts(
        assistant.say(user, "tell me more about the second one")
    )
    everything = texts(assistant.say(user, "list all the clusters"))
    assert everything.count("\n") > 14 and "TWIST" in everything and "Logistics in Wallonia" in everything
    poles = texts(assistant.say(user, "show me only the competitiveness clusters"))
    assert "The 6 competitiveness clusters" in poles and "TWIST" not in poles
    business = texts(assistant.say(user, "and the business clusters?"))
    assert "Plastiwin" in business and "Skywin" not in business
    sectors = texts(assistant.say(user, "what are the key sectors?"))
    assert all(s in sectors for s in ("Mobility and Transport", "Food – Health", "Transversal Technologies"))


def test_compare(assistant):
    answer = texts(assistant.say(new_user(), "compare Skywin and MecaTech"))
    assert "Both are competitiveness clusters" in answer and "More composites" in answer and "Intelligent maintenance" in answer


@pytest.mark.parametrize(
    "message, expected",
    [
        ("what is clustering?", "source of innovation"),
        ("since when does Wallonia have a cluster policy?", "2001"),
        ("what is the Marshall Plan?", "Marshall Plan"),
        ("how many competitiveness clusters are there?", "6 competitiveness clusters"),
        ("what is the aim of the cluster policy?", "critical mass"),
        ("what is the difference between a business cluster and a competitiveness cluster?", "competitiveness"),
        ("which cluster was the sixth?", "GreenWin"),
    ],
)
def test_policy(assistant, message, expected):
    assert expected in texts(assistant.say(new_user(), message))


def test_chitchat_and_tour(assistant):
    user = new_user()
    assert "Hello" in texts(assistant.say(user, "hi there"))
    tour = assistant.say(user, "what can you do?")
    assert len(button_titles(tour)) >= 4
    assert "welcome" in texts(assistant.say(user, "thanks a lot"))
    assert "start over" in texts(assistant.say(user, "let's start over"))
    assert "Goodbye" in texts(assistant.say(user, "bye"))


@pytest.mark.parametrize("message", ["what's the weather in Liège tomorrow?", "tell me a joke", "book me a flight to Rome"])
def test_out_of_scope_names_no_cluster(assistant, knowledge, message):
    answer = texts(assistant.say(new_user(), message))
    assert "only answer questions about Wallonia's key sectors" in answer
    assert not any(c.name in answer for c in knowledge.clusters)


def test_unknown_cluster_gets_closest_names(assistant):
    replies = assistant.say(new_user(), "what is Aerowin?")
    assert "I don't know a cluster called “Aerowin”" in texts(replies)
    assert {"Skywin", "BioWin"} <= set(button_titles(replies))


def test_follow_up_after_start_over_has_no_context(assistant):
    user = new_user()
    assistant.say(user, "tell me about TWIST")
    assistant.say(user, "start over")
    assert "Which cluster" in texts(assistant.say(user, "what are its themes?"))


@pytest.mark.parametrize(
    "message",
    ["", "   ", "🙂🚀🎉", "<script>alert(1)</script>", "x" * 20000, "'; DROP TABLE events; --", "asdfgh qwerty"],
)
def test_odd_input_gets_a_sensible_answer(assistant, message):
    replies = assistant.say(new_user(), message)
    assert replies, "every message gets an answer"
    assert "<script>" not in texts(replies)


def test_low_confidence_asks_to_rephrase_with_suggestions(assistant):
    replies = assistant.say(new_user(), "asdfgh qwerty zxcv")
    assert "rephrase" in texts(replies) or "only answer questions" in texts(replies)
    assert button_titles(replies) or "only answer questions" in texts(replies)


def test_sources_named_and_linked(assistant):
    """A later fact names its sources as a person can open them, with the month they were checked
    (and, like every reply of these suites, no file name of the project: tests/servers.py)."""
    user = new_user()
    website = texts(assistant.say(user, "what is Skywin's website?"))
    assert "https://www.skywin.be (source: [skywin.be](https://www.skywin.be), as of November 2026)" in website
    founded = texts(assistant.say(user, "when was it founded?"))
    assert "(sources: Union wallonne des entreprises (UWE), " in founded and " and aca-secretariat.be, as of November 2026)" in founded


def test_short_first_then_more(assistant, knowledge):
    user = new_user()
    val = texts(assistant.say(user, "What is Val+?"))
    assert knowledge.cluster("val-plus").summary.en in val and "No source seen by us mentions a cluster under the name “Val+”" in val
    more = texts(assistant.say(user, "more"))
    assert knowledge.cluster("val-plus").description.en in more and "the information dates from that time" not in more
    history = knowledge.topics["history"]
    lead = texts(assistant.say(user, "what is the history of the cluster policy?"))
    assert history.paragraphs[0].text.en in lead and history.paragraphs[2].text.en not in lead and "say “more”" in lead
    rest = texts(assistant.say(user, "more please"))
    assert history.paragraphs[2].text.en in rest and history.paragraphs[0].text.en not in rest
    fee = texts(assistant.say(new_user(), "do members pay a fee?"))
    assert "The amount of the fee is not known" in fee and "Yes, members pay" not in fee
