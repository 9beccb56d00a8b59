"""Every custom action, run with a real CollectingDispatcher and Tracker."""

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.actions import (
    POLICY_TOPIC_BY_INTENT,
    ActionAnswerCluster,
    ActionAnswerMore,
    ActionAnswerPolicy,
    ActionCompareClusters,
    ActionListClusters,
    ActionListSectors,
)
from actions.recommendation import SKIPPED, ValidateRecommendationForm
from actions.session import ActionSessionStart
from tests.actions_support import entities_from, payloads, run, slots_set, text_of, tracker_for
from tests.servers import FIRST_ANSWER_WORDS, answer_words, first_answers


def ask(matcher, action, text, intent, **slots):
    entities = entities_from(matcher, text)
    return run(action, tracker_for(text, intent, slots=slots, entities=entities))


def test_what_is_a_cluster(knowledge, matcher):
    messages, events = ask(matcher, ActionAnswerCluster(), "What is Skywin?", "ask_cluster_info")
    text = text_of(messages)
    skywin = knowledge.cluster("skywin")
    assert skywin.summary.en in text and skywin.description.en not in text  # short first
    assert "competitiveness cluster" in text and "Mobility and Transport" in text
    assert "circa 2010–2013" in text  # says the page describes its time
    assert [answer_words(a) for a in first_answers(text)] and all(answer_words(a) <= FIRST_ANSWER_WORDS for a in first_answers(text))
    assert slots_set(events)["cluster"] == "skywin" and slots_set(events)["shown_clusters"] == ["skywin"]
    for payload in ('/ask_more{"cluster": "skywin"}', '/ask_cluster_strategy{"cluster": "skywin"}',
                    '/ask_cluster_website{"cluster": "skywin"}', '/ask_join{"cluster": "skywin"}'):
        assert payload in payloads(messages)
    more, _ = ask(matcher, ActionAnswerMore(), "more", "ask_more", cluster="skywin")
    assert skywin.description.en in text_of(more) and "https://www.skywin.be" in text_of(more)


@pytest.mark.parametrize("language", ["en", "fr"])
def test_every_first_answer_is_short_and_shows_the_stored_fields(knowledge, matcher, language):
    for cluster in knowledge.clusters:
        messages, _ = ask(matcher, ActionAnswerCluster(), cluster.name, "ask_cluster_info", language=language)
        text = text_of(messages)
        assert all(answer_words(a) <= FIRST_ANSWER_WORDS for a in first_answers(text)) and first_answers(text), text
        french = cluster.french_name
        if french is not None and french.text.get(language).casefold() != cluster.name.casefold():
            assert french.text.get(language) in text, text
        if cluster.notes:  # at least the first note, with its source
            assert cluster.notes[0].text.get(language) in text and cluster.notes[0].sources[0].name.get(language) in text
    eco, _ = ask(matcher, ActionAnswerCluster(), "Eco-building", "ask_cluster_info", language="fr")
    assert "En français : Cluster Éco-construction (sources : lesoir.be et bep.be, novembre 2026)" in text_of(eco)
    val, _ = ask(matcher, ActionAnswerCluster(), "Val+", "ask_cluster_info")
    assert "No source seen by us mentions a cluster under the name “Val+”" in text_of(val)


def test_the_page_note_is_said_in_full_once_then_as_a_marker(knowledge, matcher):
    messages, events = ask(matcher, ActionAnswerCluster(), "What is BioWin?", "ask_cluster_info")
    assert "the information dates from that time" in text_of(messages) and slots_set(events)["page_note_said"] is True
    messages, events = ask(matcher, ActionAnswerCluster(), "What is BioWin?", "ask_cluster_info", page_note_said=True)
    assert "the information dates from that time" not in text_of(messages) and "_(the page, circa 2010–2013)_" in text_of(messages)
    assert "page_note_said" not in slots_set(events)
    messages, _ = ask(matcher, ActionAnswerCluster(), "BioWin et Skywin, c'est quoi ?", "ask_cluster_info", language="fr")
    assert text_of(messages).count("les informations datent de cette période") <= 1


def test_a_new_session_carries_the_slots_over_but_the_page_note():
    tracker = tracker_for("hi", "greet", slots={"cluster": "skywin", "language": "fr", "page_note_said": True, "topic": None})
    events = ActionSessionStart().run(CollectingDispatcher(), tracker, {})
    assert events[0]["event"] == "session_started" and events[-1] == {**events[-1], "event": "action", "name": "action_listen"}
    assert slots_set(events) == {"cluster": "skywin", "language": "fr"}


def test_a_long_topic_leads_with_the_direct_answer_then_more(knowledge, matcher):
    history = knowledge.topics["history"]
    messages, events = ask(matcher, ActionAnswerPolicy(), "history of the cluster policy", "ask_policy_history")
    text = text_of(messages)
    # the first two, and the one the sources disagree on
    lead = [p for i, p in enumerate(history.paragraphs) if i < 2 or p.disputed]
    rest = [p for p in history.paragraphs if p not in lead]
    assert all(p.text.en in text for p in lead) and not any(p.text.en in text for p in rest)
    assert '/ask_more{"topic": "history"}' in payloads(messages)
    left = slots_set(events)["more"]
    assert left == [i for i, p in enumerate(history.paragraphs) if p in rest]
    more, events = run(ActionAnswerMore(), tracker_for("more", "ask_more", slots={"topic": "history", "more": left}))
    assert all(p.text.en in text_of(more) for p in rest) and not any(p.text.en in text_of(more) for p in lead)
    assert not slots_set(events)["more"]
    # the button of an earlier answer: all but the usual lead
    more, _ = run(ActionAnswerMore(), tracker_for("more", "ask_more", entities=[{"entity": "topic", "value": "history"}]))
    assert all(p.text.en in text_of(more) for p in rest) and not any(p.text.en in text_of(more) for p in lead)
    # a question that singles out paragraphs leads with them
    messages, _ = ask(matcher, ActionAnswerPolicy(), "which poles were labelled first, and when?", "ask_policy_history")
    assert "July 2006" in text_of(messages) and history.paragraphs[0].text.en not in text_of(messages)
    nothing, _ = ask(matcher, ActionAnswerMore(), "plus", "ask_more", language="fr")
    assert "C'est tout ce que j'en sais" in text_of(nothing)


@pytest.mark.parametrize("language, opening", [("en", "The amount of the fee is not known"),
                                               ("fr", "Le montant de la cotisation n'est pas connu")])
def test_the_fee_answer_says_what_is_known_and_for_whom(matcher, language, opening):
    messages, _ = ask(matcher, ActionAnswerPolicy(), "membership fee", "ask_fee", language=language)
    text = text_of(messages)
    assert text.split("\n\n")[1].startswith(opening) and "GreenWin" in text and "Skywin" in text
    assert "Yes, members pay" not in text and "Oui, les membres" not in text


def test_follow_up_uses_the_cluster_talked_about(knowledge, matcher):
    messages, events = ask(matcher, ActionAnswerCluster(), "what are its themes?", "ask_cluster_strategy", cluster="biowin")
    text = text_of(messages)
    for theme in knowledge.cluster("biowin").strategy.items:
        assert theme.en in text
    assert slots_set(events)["cluster"] == "biowin"


def test_a_name_in_the_message_wins_over_the_slot(matcher):
    _, events = ask(matcher, ActionAnswerCluster(), "and what about mecatec?", "ask_cluster_info", cluster="biowin")
    assert slots_set(events)["cluster"] == "mecatech"


@pytest.mark.parametrize("attribute_intent", ["ask_cluster_website", "ask_cluster_founded"])
def test_unknown_fact_is_said_to_be_unknown_with_the_portal(knowledge, matcher, attribute_intent):
    messages, _ = ask(matcher, ActionAnswerCluster(), "Val+?", attribute_intent)
    text = text_of(messages)
    assert "not known" in text and knowledge.sources.portal in text


def test_disputed_fact_is_shown_as_disputed(knowledge, matcher):
    disputed = [c for c in knowledge.clusters if c.founded and c.founded.disputed]
    assert disputed, "the knowledge base has disputed founding dates (MecaTech, BioWin)"
    messages, _ = ask(matcher, ActionAnswerCluster(), f"when was {disputed[0].name} founded", "ask_cluster_founded")
    assert "sources disagree" in text_of(messages)


def test_members_and_open_lists(knowledge, matcher):
    messages, _ = ask(matcher, ActionAnswerCluster(), "who are val+ members", "ask_cluster_members")
    text = text_of(messages)
    val = knowledge.cluster("val-plus")
    for item in val.members.items + val.scope.items:
        assert item.en in text
    assert "among others" in text  # the page leaves the waste kinds open


def test_sector_and_type_of_a_cluster(matcher):
    messages, _ = ask(matcher, ActionAnswerCluster(), "which sector is greenwin in", "ask_cluster_sector")
    assert "Environment and Sustainable Development" in text_of(messages)
    assert "TWEED" in text_of(messages)
    messages, _ = ask(matcher, ActionAnswerCluster(), "is twist a pole?", "ask_cluster_type")
    assert "TWIST is a business cluster" in text_of(messages)


def test_unknown_cluster_name_gets_the_closest_names(matcher):
    entities = [{"entity": "unknown_name", "value": "Aerowin", "start": 8, "end": 15}]
    messages, events = run(ActionAnswerCluster(), tracker_for("what is Aerowin", "ask_cluster_info", {"cluster": "twist"}, entities))
    assert "I don't know a cluster called “Aerowin”" in text_of(messages)
    assert payloads(messages)[0] == '/ask_cluster_info{"cluster": "skywin"}'
    assert events == []


def test_unknown_name_far_from_every_cluster_lists_them_all(knowledge):
    entities = [{"entity": "unknown_name", "value": "Zorglub", "start": 8, "end": 15}]
    messages, _ = run(ActionAnswerCluster(), tracker_for("what is Zorglub", "ask_cluster_info", entities=entities))
    assert "I don't know a cluster called “Zorglub”" in text_of(messages)
    assert len(payloads(messages)) == len(knowledge.clusters)


def test_chatter_word_does_not_hide_the_follow_up():
    entities = [{"entity": "unknown_name", "value": "mate", "start": 24, "end": 28}]
    _, events = run(ActionAnswerCluster(), tracker_for("what are its themes mate", "ask_cluster_strategy", {"cluster": "biowin"}, entities))
    assert slots_set(events)["cluster"] == "biowin"


def test_no_cluster_at_all_asks_which(knowledge):
    messages, events = run(ActionAnswerCluster(), tracker_for("what are its themes?", "ask_cluster_strategy"))
    assert "Which cluster" in text_of(messages)
    assert len(payloads(messages)) == len(knowledge.clusters)
    assert events == []


def test_list_all_clusters_by_sector(knowledge, matcher):
    messages, events = ask(matcher, ActionListClusters(), "list all clusters", "list_clusters")
    text = text_of(messages)
    assert all(c.name in text for c in knowledge.clusters) and all(s.name.en in text for s in knowledge.sectors)
    assert slots_set(events)["shown_clusters"] == [c.id for c in knowledge.clusters]


def test_list_by_sector_and_by_type(knowledge, matcher):
    _, events = ask(matcher, ActionListClusters(), "clusters of the health sector", "list_clusters")
    assert slots_set(events)["shown_clusters"] == ["biowin", "wagralim"]
    messages, events = ask(matcher, ActionListClusters(), "only the competitiveness clusters", "list_clusters")
    poles = [c.id for c in knowledge.clusters if c.type == "competitiveness"]
    assert len(poles) == 6 and slots_set(events)["shown_clusters"] == poles
    _, events = ask(matcher, ActionListClusters(), "business clusters in transport", "list_clusters")
    assert events == []  # none: the sector holds two competitiveness clusters


def test_list_sectors(knowledge, matcher):
    messages, _ = ask(matcher, ActionListSectors(), "what are the key sectors", "list_sectors")
    assert all(s.name.en in text_of(messages) for s in knowledge.sectors)


@pytest.mark.parametrize("text, expected", [("the second one", "wagralim"), ("tell me about the first", "biowin"), ("the last one", "wagralim"), ("number 2", "wagralim")])
def test_an_item_of_the_last_list(matcher, text, expected):
    _, events = ask(matcher, ActionAnswerCluster(), text, "ask_list_item", shown_clusters=["biowin", "wagralim"])
    assert slots_set(events)["cluster"] == expected and slots_set(events)["shown_clusters"] == ["biowin", "wagralim"]


def test_an_item_out_of_range_or_without_list(matcher):
    messages, events = ask(matcher, ActionAnswerCluster(), "the fifth one", "ask_list_item", shown_clusters=["biowin", "wagralim"])
    assert "from 1 to 2" in text_of(messages) and events == []
    messages, events = ask(matcher, ActionAnswerCluster(), "the second one", "ask_list_item")
    assert "Which list" in text_of(messages) and events == []


def test_no_position_asks_which_one_or_says_it_did_not_understand(matcher):
    messages, events = ask(matcher, ActionAnswerCluster(), "ok", "ask_list_item", shown_clusters=["biowin", "wagralim"])
    assert text_of(messages).startswith("Which one? Say its number in the list (1 to 2)") and events == []
    messages, events = ask(matcher, ActionAnswerCluster(), "ok", "ask_list_item", shown_clusters=["biowin", "wagralim"], language="fr")
    assert text_of(messages).startswith("Lequel ? Donnez son numéro dans la liste (de 1 à 2)")
    messages, events = ask(matcher, ActionAnswerCluster(), "ok", "ask_list_item")
    assert [m["response"] for m in messages] == ["utter_rephrase"] and events == []


def test_compare_two_clusters(knowledge, matcher):
    messages, events = ask(matcher, ActionCompareClusters(), "compare Skywin and MecaTech", "compare_clusters")
    text = text_of(messages)
    assert "Both are competitiveness clusters" in text
    assert "Mobility and Transport" in text and "Transversal Technologies" in text
    assert knowledge.cluster("mecatech").strategy.items[0].en in text
    assert slots_set(events) == {"shown_clusters": ["skywin", "mecatech"], "cluster": None, "asked_attributes": [], "topic": None,
                                 "more": None, "page_note_said": True}


def test_compare_with_the_cluster_talked_about(matcher):
    _, events = ask(matcher, ActionCompareClusters(), "compare it with TWIST", "compare_clusters", cluster="biowin")
    assert slots_set(events)["shown_clusters"] == ["biowin", "twist"]
    messages, _ = ask(matcher, ActionCompareClusters(), "compare them", "compare_clusters")
    assert "Which clusters would you like to compare" in text_of(messages)


@pytest.mark.parametrize("intent", sorted(POLICY_TOPIC_BY_INTENT))
def test_every_policy_intent_has_its_topic(knowledge, matcher, intent):
    messages, _ = ask(matcher, ActionAnswerPolicy(), "policy question", intent)
    topic = knowledge.topics[POLICY_TOPIC_BY_INTENT[intent]]
    assert topic.title.en in text_of(messages)
    assert topic.paragraphs[0].text.en in text_of(messages)


def test_the_sixth_cluster_is_greenwin(matcher):
    messages, events = ask(matcher, ActionAnswerPolicy(), "which was the sixth", "ask_policy_sixth_cluster")
    assert "GreenWin" in text_of(messages) and "environmental technologies" in text_of(messages)
    assert slots_set(events) == {"shown_clusters": ["greenwin"], "cluster": "greenwin", "asked_attributes": [], "topic": "sixth_cluster",
                                 "more": None, "page_note_said": True}


def test_answers_follow_the_language_slot(knowledge, matcher):
    messages, _ = ask(matcher, ActionAnswerCluster(), "c'est quoi skywin", "ask_cluster_info", language="fr")
    assert knowledge.cluster("skywin").summary.fr in text_of(messages)
    assert "pôle de compétitivité" in text_of(messages)


# --- the recommendation form: an answer given out of turn is said back -------------------------

@pytest.mark.parametrize("slot, value, requested, language, expected", [
    ("organisation_type", "research", "goal", "en", "Noted: research centre or university lab."),
    ("organisation_type", "research", "goal", "fr", "C'est noté : centre de recherche ou labo universitaire."),
    ("goal", "network", "organisation_type", "en", "Noted: business network."),
    ("goal", "network", "activity", "fr", "C'est noté : réseau d'affaires."),
    ("goal", "rnd", "activity", "fr", "C'est noté : partenaires et projets de R&D."),
])
def test_an_answer_given_while_another_question_is_pending_is_acknowledged(slot, value, requested, language, expected):
    tracker = tracker_for("actually…", f"inform_{slot}", slots={"requested_slot": requested, "language": language})
    dispatcher = CollectingDispatcher()
    validate = getattr(ValidateRecommendationForm(), f"validate_{slot}")
    assert validate(value, dispatcher, tracker, {}) == {slot: value}
    assert text_of(dispatcher.messages) == expected


@pytest.mark.parametrize("value, requested", [("research", "organisation_type"), ("research", None), (SKIPPED, "goal")])
def test_an_answer_to_the_question_asked_is_not_repeated(value, requested):
    tracker = tracker_for("a research centre", "inform_organisation_type", slots={"requested_slot": requested})
    dispatcher = CollectingDispatcher()
    assert ValidateRecommendationForm().validate_organisation_type(value, dispatcher, tracker, {}) == {"organisation_type": value}
    assert dispatcher.messages == []


def test_a_comparison_of_three_then_follow_ups_over_them(knowledge, matcher):
    messages, events = ask(matcher, ActionCompareClusters(), "compare GreenWin, BioWin and TWIST", "compare_clusters")
    assert all(name in text_of(messages) for name in ("GreenWin", "BioWin", "TWIST"))
    state = slots_set(events)
    assert state["shown_clusters"] == ["greenwin", "biowin", "twist"] and state["cluster"] is None
    messages, events = ask(matcher, ActionAnswerCluster(), "which one is the oldest?", "ask_list_item", **state)
    assert "BioWin" in text_of(messages).splitlines()[0] and "TWIST" in text_of(messages).splitlines()[-1]
    messages, _ = ask(matcher, ActionAnswerCluster(), "which of these are business clusters?", "ask_list_item", **state)
    assert "TWIST" in text_of(messages) and "BioWin" not in text_of(messages)
    messages, _ = ask(matcher, ActionAnswerCluster(), "and their websites?", "ask_cluster_website", **state)
    assert "greenwin.be" in text_of(messages) and "biowin.org" in text_of(messages)


def test_the_other_one_asks_the_same_of_it(matcher):
    state = {"shown_clusters": ["tweed", "infopole-cluster-tic"], "cluster": "tweed", "asked_attributes": ["members"]}
    messages, events = ask(matcher, ActionAnswerCluster(), "et l'autre ?", "ask_list_item", language="fr", **state)
    assert "180" in text_of(messages) and slots_set(events)["cluster"] == "infopole-cluster-tic"


def test_a_correction_sets_the_named_cluster_aside(matcher):
    state = {"shown_clusters": ["biowin"], "cluster": "biowin", "asked_attributes": ["founded"]}
    messages, events = ask(matcher, ActionAnswerCluster(), "oops not biowin, greenwin", "ask_cluster_info", **state)
    assert "2011" in text_of(messages) and slots_set(events)["cluster"] == "greenwin"


def test_a_fact_nobody_has_is_unknown_with_what_is_known_and_where_to_look(knowledge, matcher):
    messages, _ = ask(matcher, ActionAnswerCluster(), "how many employees does TWIST have?", "ask_cluster_members")
    text = text_of(messages)
    assert "not known" in text and "100 members" in text and knowledge.sources.portal in text
    messages, _ = ask(matcher, ActionAnswerCluster(), "who is the director of skywin", "ask_cluster_info")
    assert "not known" in text_of(messages) and "https://www.skywin.be" in text_of(messages)


def test_a_wrong_premise_is_corrected_and_every_part_answered(matcher):
    messages, _ = ask(matcher, ActionAnswerCluster(), "since Skywin is a business cluster, what is its website and when was it founded?", "ask_cluster_website")
    text = text_of(messages)
    assert text.startswith("Note: Skywin is a competitiveness cluster, not a business cluster.")
    assert "https://www.skywin.be" in text and "2006" in text


def test_the_fallback_decides_with_the_ranking_and_the_state(matcher):
    from actions.actions import ActionFallback

    messages, events = ask(matcher, ActionFallback(), "we are a small biotech lab working on vaccines", "nlu_fallback")
    assert "BioWin" in text_of(messages) and slots_set(events)["cluster"] == "biowin"
    messages, _ = ask(matcher, ActionFallback(), "battery cells, that's what we make", "nlu_fallback")
    assert "may fit" in text_of(messages) and "tell me more" in text_of(messages)
    messages, _ = ask(matcher, ActionFallback(), "does it take asbestos?", "nlu_fallback", cluster="val-plus")
    assert "asbestos" in text_of(messages)
    messages, _ = ask(matcher, ActionFallback(), "setting up a kubernetes cluster", "out_of_scope")
    assert [m["response"] for m in messages] == ["utter_out_of_scope"]


@pytest.mark.parametrize("requested, text, value", [
    ("organisation_type", "reserch lab at a uni", "research"),
    ("organisation_type", "on est une start up", "startup"),
    ("goal", "surtout du réseau", "network"),
])
def test_a_typed_answer_fills_the_question_asked_and_keeps_the_activity(requested, text, value):
    import asyncio

    form = ValidateRecommendationForm()
    tracker = tracker_for(text, "describe_activity", slots={"requested_slot": requested, "activity": "we make drones"})
    extract = getattr(form, f"extract_{requested}")
    assert asyncio.run(extract(CollectingDispatcher(), tracker, {})) == {requested: value}
    assert asyncio.run(form.extract_activity(CollectingDispatcher(), tracker, {})) == {}


def test_are_both_of_a_type_gets_a_verdict_then_each_one(matcher):
    state = {"shown_clusters": ["skywin", "twist"], "cluster": None}
    messages, events = ask(matcher, ActionAnswerCluster(), "are both of them poles?", "ask_list_item", **state)
    lines = text_of(messages).splitlines()
    assert lines[0] == "No, only Skywin."
    assert "TWIST: business cluster" in lines[2] and slots_set(events)["shown_clusters"] == ["skywin", "twist"]
    messages, _ = ask(matcher, ActionAnswerCluster(), "sont-ils tous les deux dans les technologies transversales ?",
                      "ask_list_item", language="fr", shown_clusters=["twist", "plastiwin"])
    assert text_of(messages).startswith("Oui, tous.")


def test_a_correction_finds_the_cluster_meant_among_all(matcher):
    state = {"shown_clusters": ["skywin"], "cluster": "skywin", "asked_attributes": ["website"]}
    messages, events = ask(matcher, ActionAnswerCluster(), "no, I wanted the logistics pole instead", "ask_list_item", **state)
    assert "logisticsinwallonia.be" in text_of(messages) and slots_set(events)["cluster"] == "logistics-in-wallonia"


def test_a_fact_asked_after_a_policy_topic_is_the_topic_s(matcher):
    messages, events = ask(matcher, ActionAnswerPolicy(), "tell me about the marshall plan", "ask_policy_marshall_plan")
    assert slots_set(events)["topic"] == "marshall_plan"
    messages, _ = ask(matcher, ActionAnswerCluster(), "what was its budget?", "ask_cluster_info", **slots_set(events))
    assert "sources disagree" in text_of(messages) or "disagree" in text_of(messages)


def test_a_policy_answer_also_answers_the_part_about_the_cluster(matcher):
    messages, _ = ask(matcher, ActionAnswerPolicy(), "what does joining skywin cost, and when was it founded?", "ask_fee")
    text = text_of(messages)
    assert "Membership fee" in text and "2006" in text


def test_how_many_clusters_asked_with_a_question_about_one(matcher):
    messages, _ = ask(matcher, ActionAnswerCluster(), "what is biowin's website and how many poles exist?", "ask_cluster_website")
    assert "biowin.org" in text_of(messages) and "There are 6 competitiveness clusters." in text_of(messages)


def test_the_core_fallback_takes_the_message_back():
    from actions.actions import ActionCoreFallback

    messages, events = run(ActionCoreFallback(), tracker_for("mmh", "inform_goal"))
    assert [m["response"] for m in messages] == ["utter_rephrase"] and [e["event"] for e in events] == ["rewind"]


def test_joining_is_answered_for_the_cluster_in_focus(matcher):
    messages, _ = ask(matcher, ActionAnswerPolicy(), "how do we become members?", "ask_join", cluster="tweed")
    text = text_of(messages)
    assert "GreenWin" not in text and "business cluster" in text  # a pole's rules are not TWEED's
    assert "TWEED: It had about 110 members in 2013." in text
    messages, _ = ask(matcher, ActionAnswerPolicy(), "how do we become members?", "ask_join", cluster="greenwin")
    assert "TWEED" not in text_of(messages) and "GreenWin:" in text_of(messages) and "greenwin.be" in text_of(messages)
    messages, _ = ask(matcher, ActionAnswerPolicy(), "how does one join a cluster in general?", "ask_join", cluster="tweed")
    assert "GreenWin" in text_of(messages) and "TWEED" in text_of(messages)  # the general text
