"""End-to-end in French: every path answers in French; the language follows the user."""

import uuid

import pytest

from tests.servers import button_titles, texts


def new_user() -> str:
    return f"fr-{uuid.uuid4().hex[:12]}"


def payload_of(replies, title):
    return next(b["payload"] for r in replies for b in r.get("buttons", []) if b["title"] == title)


def test_cluster_questions_and_follow_ups(assistant, knowledge):
    user = new_user()
    answer = texts(assistant.say(user, "c'est quoi BioWin ?"))
    assert knowledge.cluster("biowin").summary.fr in answer and "les informations datent de cette période" in answer
    more = texts(assistant.say(user, "la suite"))  # the page's paragraph, the page note now a marker
    assert knowledge.cluster("biowin").description.fr in more and "_(la page, vers 2010–2013)_" in more
    themes = texts(assistant.say(user, "quels sont ses thèmes ?"))
    assert all(t.fr in themes for t in knowledge.cluster("biowin").strategy.items)
    assert "Le site web de BioWin : https://www.biowin.org" in texts(assistant.say(user, "et son site web ?"))
    assert "Date de création" in texts(assistant.say(user, "il a été créé quand ?"))
    assert "secteur « Alimentation – santé »" in texts(assistant.say(user, "dans quel secteur est-il ?"))


@pytest.mark.parametrize(
    "message, expected",
    [
        ("parle-moi de skywinn", "Skywin est le pôle de compétitivité"),
        ("c'est quoi mecatec", "MecaTech"),
        ("ça fait quoi green win ?", "GreenWin"),
        ("c est quoi le cluster tic", "Infopole Cluster TIC"),
        ("qui sont les membres de val plus", "centres de recherche"),
        ("Val+ a un site web ?", "l'information ne figure pas dans mes sources"),
    ],
)
def test_names_and_attributes_in_french(assistant, message, expected):
    assert expected in texts(assistant.say(new_user(), message))


def test_lists_and_comparison(assistant):
    user = new_user()
    listing = texts(assistant.say(user, "quels clusters dans le secteur santé ?"))
    assert "Les clusters du secteur « Alimentation – santé »" in listing
    assert "WagrALIM est le pôle de compétitivité" in texts(assistant.say(user, "le deuxième"))
    poles = texts(assistant.say(user, "liste des pôles de compétitivité"))
    assert "Les 6 pôles de compétitivité" in poles
    assert "secteurs clés" in texts(assistant.say(user, "quels sont les secteurs clés ?"))
    compare = texts(assistant.say(user, "compare Skywin et MecaTech"))
    assert "Tous deux sont des pôles de compétitivité" in compare


@pytest.mark.parametrize(
    "message, expected",
    [
        ("c'est quoi le clustering ?", "réseaux d'entreprises"),
        ("depuis quand la Wallonie a-t-elle des clusters ?", "2001"),
        ("c'est quoi le plan Marshall ?", "Plan Marshall"),
        ("combien y a-t-il de pôles de compétitivité ?", "sciences du vivant"),
        ("quel est le but de cette politique ?", "masse critique"),
        ("quelle différence entre un cluster et un pôle de compétitivité ?", "pôle"),
        ("quel a été le sixième pôle ?", "GreenWin"),
        ("comment devenir membre ?", "https://clusters.wallonie.be"),
        ("comment déposer un projet ?", "jury international"),
    ],
)
def test_policy_and_joining_in_french(assistant, message, expected):
    assert expected in texts(assistant.say(new_user(), message))


def test_chitchat_out_of_scope_and_unknown_names_in_french(assistant, knowledge):
    user = new_user()
    assert "Bonjour" in texts(assistant.say(user, "bonjour"))
    assert len(button_titles(assistant.say(user, "qu'est-ce que tu sais faire ?"))) >= 4
    out = texts(assistant.say(user, "quel temps fera-t-il demain à Namur ?"))
    assert "Je ne peux pas vous aider" in out and not any(c.name in out for c in knowledge.clusters)
    assert "Je ne connais pas de cluster nommé « Aerowin »" in texts(assistant.say(user, "c'est quoi Aerowin ?"))
    assert "Au revoir" in texts(assistant.say(user, "au revoir"))


def test_guided_dialogue_in_french_with_side_question_correction_and_skip(assistant):
    user = new_user()
    assert "Que fait votre organisation ?" in texts(assistant.say(user, "quel cluster nous conviendrait ?"))
    assert "trop général" in texts(assistant.say(user, "on vend des trucs"))
    side = texts(assistant.say(user, "c'est quoi Skywin ?"))
    assert "Skywin est le pôle de compétitivité" in side and "Que fait votre organisation ?" in side
    replies = assistant.say(user, "nous fabriquons des emballages pour l'industrie alimentaire")
    assert "Quel type d'organisation êtes-vous ?" in texts(replies)
    assert "Centre de recherche ou labo universitaire" in button_titles(replies)
    replies = assistant.say(user, "passer")
    assert "Que recherchez-vous dans un cluster ?" in texts(replies)
    assistant.say(user, "en fait nous sommes une start-up")
    answer = texts(assistant.say(user, payload_of(replies, "Partenaires et projets de R&D")))
    assert "Voici où votre organisation trouverait le mieux sa place" in answer and "1. **WagrALIM**" in answer
    assert "Pourquoi : la page cite « emballage » parmi les axes stratégiques de développement de WagrALIM" in answer


def test_cancel_in_french(assistant):
    user = new_user()
    assistant.say(user, "aidez-moi à trouver le bon pôle")
    assert "on arrête" in texts(assistant.say(user, "annuler"))


def test_language_switches_mid_conversation(assistant, knowledge):
    user = new_user()
    assert "Skywin is the Aerospace Competitiveness Cluster" in texts(assistant.say(user, "What is Skywin?"))
    assert "Skywin est le pôle" in texts(assistant.say(user, "et en français, c'est quoi Skywin ?"))
    # Too short to tell: the conversation keeps French.
    assert knowledge.cluster("biowin").summary.fr in texts(assistant.say(user, "BioWin"))
    assert "OK, I'll answer in English." in texts(assistant.say(user, "in English please"))
    # The request sticks: a French question is now answered in English.
    assert "MecaTech is the Competitiveness Cluster" in texts(assistant.say(user, "c'est quoi MecaTech ?"))
    assert "D'accord, je vous réponds en français." in texts(assistant.say(user, "en français svp"))
    assert knowledge.cluster("twist").summary.fr in texts(assistant.say(user, "what about TWIST?"))


def test_page_language_is_the_default_for_short_messages(assistant):
    user = new_user()
    reply = assistant.say(user, "Skywin", metadata={"language": "fr"})
    assert "Skywin est le pôle" in texts(reply)


def test_other_languages_are_told_which_languages_are_spoken(assistant):
    answer = texts(assistant.say(new_user(), "Welche Cluster gibt es in Wallonien?"))
    assert "English and French" in answer and "français et l'anglais" in answer


def test_sources_named_and_linked_in_french(assistant):
    user = new_user()
    website = texts(assistant.say(user, "quel est le site web de Skywin ?"))
    assert "https://www.skywin.be (source : [skywin.be](https://www.skywin.be), novembre 2026)" in website
    founded = texts(assistant.say(user, "il a été créé quand ?"))
    assert "(sources : Union wallonne des entreprises (UWE), " in founded and " et aca-secretariat.be, novembre 2026)" in founded


def test_short_first_then_more_in_french(assistant, knowledge):
    user = new_user()
    history = knowledge.topics["history"]
    lead = texts(assistant.say(user, "quelle est l'histoire de la politique des clusters ?"))
    assert history.paragraphs[0].text.fr in lead and history.paragraphs[2].text.fr not in lead and "dites « plus »" in lead
    rest = texts(assistant.say(user, "plus"))
    assert history.paragraphs[2].text.fr in rest and history.paragraphs[0].text.fr not in rest
    fee = texts(assistant.say(new_user(), "faut-il payer une cotisation pour être membre ?"))
    assert "Le montant de la cotisation n'est pas connu" in fee and "Oui, les membres" not in fee
    eco = texts(assistant.say(new_user(), "c'est quoi Eco-building ?"))
    assert "En français : Cluster Éco-construction (sources : lesoir.be et bep.be, novembre 2026)" in eco
