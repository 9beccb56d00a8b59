"""End-to-end: the guided recommendation and the joining questions, over REST, with the real
servers (test stories cannot check these: `rasa test` runs no custom action or form validation)."""

import uuid

from tests.servers import button_titles, texts


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
    assert "keyword “drone”" in first and "https://www.skywin.be" in first
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
    assert "it states members like you" in answer  # the page: research and training centres


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
