"""End-to-end: the guided recommendation and the joining questions, over REST, with the real
servers (test stories cannot check these: `rasa test` runs no custom action or form validation);
the reasons told for every recommendation case, by the running action server."""

import re
import uuid

import requests

from kb.language import detect_language
from kb.loader import load_knowledge
from kb.recommend import ClusterRanker
from kb.recommend.ranking import TOLD_REASONS
from scripts.evaluate_recommendations import load_cases
from tests.servers import ACTION_SERVER_TOKEN, button_titles, texts

CASES = load_cases()["cases"]
PAGE_SAYS = {"en": "the page ", "fr": "la page"}
USER_SAID = {"en": re.compile(r"you mention (.*?), (?:a field|fields) related"),
             "fr": re.compile(r"vous parlez (.*?), (?:un domaine|des domaines) li")}
QUOTED = {"en": re.compile(r"“([^”]*)”"), "fr": re.compile(r"« ([^»]*) »")}


def new_user() -> str:
    return f"rec-{uuid.uuid4().hex[:12]}"


def payload_of(replies, title):
    return next(b["payload"] for r in replies for b in r.get("buttons", []) if b["title"] == title)


def test_one_message_gets_a_recommendation_at_once(assistant):
    replies = assistant.say(new_user(), "We build drone components, which cluster should we join?")
    answer = texts(replies)
    assert answer.startswith("Here is where your organisation fits best:")
    first = answer.split("\n\n")[1]
    assert "**Skywin** — competitiveness cluster" in first and "Mobility and Transport" in first
    assert "you mention “drone”, a field related to Skywin's work" in first and "https://www.skywin.be" in first
    assert "Why: the page names “…" in first  # the page's axis before the user's word
    assert "About Skywin" in button_titles(replies)


def test_happy_path_with_buttons(assistant):
    user = new_user()
    assert "What does your organisation do?" in texts(assistant.say(user, "which cluster fits me?"))
    replies = assistant.say(user, "we recycle construction waste and polluted soils")
    assert "What kind of organisation are you?" in texts(replies)
    assert "Research centre or university lab" in button_titles(replies)
    replies = assistant.say(user, payload_of(replies, "Company or SME"))
    assert "What are you looking for" in texts(replies)
    answer = texts(assistant.say(user, payload_of(replies, "Business network")))
    assert "Here is where your organisation fits best:" in answer and "1. **Val+**" in answer


def test_skip_and_correction(assistant):
    user = new_user()
    assistant.say(user, "which cluster should we join?")
    assistant.say(user, "we develop laser sources and optical sensors")
    assert "What are you looking for" in texts(assistant.say(user, "skip"))
    correction = texts(assistant.say(user, "actually we are a research centre"))
    assert correction.startswith("Noted: research centre or university lab.")
    assert "What kind of organisation" not in correction and "What are you looking for" in correction
    answer = texts(assistant.say(user, "not sure"))
    assert "1. **Cluster Photonique**" in answer
    assert "the page says its members include “research centres”, like yours" in answer


def test_side_question_is_answered_and_the_dialogue_resumes(assistant):
    user = new_user()
    assistant.say(user, "help me find the right cluster")
    side = texts(assistant.say(user, "What is Skywin?"))
    assert "Skywin is the Aerospace Competitiveness Cluster" in side
    assert "What does your organisation do?" in side  # asked again, not swallowed
    assert "What kind of organisation" in texts(assistant.say(user, "we produce dairy products and cheese"))


def test_cancel(assistant):
    user = new_user()
    assistant.say(user, "which cluster fits me?")
    assert "stopped" in texts(assistant.say(user, "cancel"))
    assert "Skywin is the Aerospace" in texts(assistant.say(user, "what is skywin"))


def test_vague_answer_gets_a_follow_up_question(assistant):
    user = new_user()
    assistant.say(user, "which cluster fits me?")
    follow_up = texts(assistant.say(user, "we sell things"))
    assert "too general" in follow_up and "Here is where" not in follow_up
    assert "What kind of organisation" in texts(assistant.say(user, "we sell things: plastic injection moulded parts"))


def test_how_to_join_points_to_the_cluster_or_the_portal(assistant, knowledge):
    user = new_user()
    assistant.say(user, "tell me about BioWin")
    join = texts(assistant.say(user, "how do we become a member?"))
    assert "https://www.biowin.org" in join
    fee = texts(assistant.say(new_user(), "is there a fee?"))
    assert "not known" in fee.lower() or "no amount" in fee.lower()
    assert knowledge.sources.portal in fee
    project = texts(assistant.say(new_user(), "how do we submit a project?"))
    assert "international jury" in project
    based = texts(assistant.say(new_user(), "must we be based in Wallonia?"))
    assert "Walloon SME" in based


def test_reasons_in_french_quote_the_page_then_the_users_words(assistant):
    user = new_user()
    assistant.say(user, "quel cluster nous convient ?")
    replies = assistant.say(user, "bureau d'études en structures composites pour l'aéronautique")
    replies = assistant.say(user, payload_of(replies, "Passer"))
    answer = texts(assistant.say(user, payload_of(replies, "Passer")))
    assert "1. **Skywin**" in answer, answer
    why = next(line for line in answer.splitlines() if line.startswith("Pourquoi"))
    assert why == ("Pourquoi : la page cite « Plus de composites »… parmi les axes de Skywin ; "
                   "vous parlez de « composites », un domaine lié à l'activité de Skywin."), why


def recommend_through_the_action_server(servers, text: str, slots: dict) -> str:
    """The recommendation action's reply, from the running action server, for a conversation whose
    form holds these answers (the call Rasa makes once the form is complete)."""
    body = {"next_action": "action_recommend_clusters", "sender_id": new_user(), "version": "3.6.21", "domain": {},
            "tracker": {"sender_id": "case", "slots": slots, "events": [], "paused": False, "followup_action": None,
                        "active_loop": {}, "latest_action_name": "action_listen",
                        "latest_message": {"text": text, "intent": {"name": "inform_goal", "confidence": 1.0},
                                           "entities": []}}}
    response = requests.post(f"http://127.0.0.1:{servers.actions_port}/webhook", json=body, timeout=30,
                             headers={"Authorization": f"Bearer {ACTION_SERVER_TOKEN}"})
    response.raise_for_status()
    return "\n".join(r.get("text") or "" for r in response.json()["responses"])


def test_the_reasons_of_every_case_name_a_page_fact_where_one_matches(assistant):
    """The recommendation action's reply for each case, in the language it is written in: at most
    two reasons a cluster, a fact of the page told (first, when it is about the activity) wherever
    one matches, the user's words quoted only as they wrote them, and no word of how the knowledge
    base is kept."""
    ranker = ClusterRanker(load_knowledge())
    told_page = 0
    for case in CASES:
        text = case["text"]
        language = detect_language(text) if detect_language(text) in ("en", "fr") else "fr"  # "radio locale et podcasts"
        slots = {"activity": text, "organisation_type": case.get("organisation_type"), "goal": case.get("goal"),
                 "language": language}
        reply = recommend_through_the_action_server(assistant, text, slots)
        result = ranker.rank(text, case.get("organisation_type"), case.get("goal"))
        why = [line for line in reply.splitlines() if line.startswith(("Why:", "Pourquoi :"))]
        assert len(why) == len(result.matches), reply
        for match, line in zip(result.matches, why):
            reasons = line.split(":", 1)[1].strip().rstrip(".")
            if any(r.kind == "page" for r in match.reasons):  # what the page says of its activity comes first
                assert reasons.startswith((PAGE_SAYS[language], "selon la page")), line
            if any(r.kind in ("page", "member_type") for r in match.reasons):
                assert PAGE_SAYS[language] in reasons, line
                told_page += 1
            assert len(re.findall(r"(?:^|; )(?:the page|la page|selon la page|you mention|vous parlez|suits|convient)",
                                  reasons)) <= TOLD_REASONS, line
            for said in USER_SAID[language].findall(reasons):
                for words in QUOTED[language].findall(said):
                    assert words.replace("\\", "").casefold() in text.casefold(), (line, words)
            assert not re.search(r"knowledge base|base de connaissances|mots-clés|keyword", line), line
    assert told_page > 100
