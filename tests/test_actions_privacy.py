""""Forget me" asks first (actions/privacy.py, forget_me_form in domain.yml): the actions run as the
action server runs them, with a real rasa-sdk Tracker and CollectingDispatcher."""

from pathlib import Path

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.buttons import CONTRACT
from actions.privacy import ActionForgetMe, ActionKeepConversation

DOMAIN = yaml.safe_load((Path(__file__).resolve().parent.parent / "domain.yml").read_text(encoding="utf-8"))


def tracker(events, slots=None, text="no", intent="deny", channel="rest"):
    user = {"event": "user", "text": text, "parse_data": {"intent": {"name": intent}}, "input_channel": channel}
    return Tracker(sender_id="someone", slots=slots or {}, latest_message={"text": text, "intent": {"name": intent}},
                   events=[*events, user, {"event": "active_loop", "name": None}], paused=False,
                   followup_action=None, active_loop={}, latest_action_name="forget_me_form")


def run(action, tracker_):
    dispatcher = CollectingDispatcher()
    return dispatcher.messages, action.run(dispatcher, tracker_, DOMAIN)


ASKED = [{"event": "user", "text": "forget me", "parse_data": {"intent": {"name": "forget_me"}}},
         {"event": "active_loop", "name": "forget_me_form"}]
GUIDED = [{"event": "user", "text": "which cluster fits me?"}, {"event": "active_loop", "name": "recommendation_form"}]


@pytest.mark.parametrize("language, said", [
    ("en", "Done: I have deleted this conversation and everything you told me in it. We start afresh."),
    ("fr", "C'est fait : j'ai supprimé cette conversation et tout ce que vous m'y avez dit. On repart de zéro."),
])
def test_a_yes_is_answered_in_the_users_language(language, said):
    messages, events = run(ActionForgetMe(), tracker(ASKED, {"language": language}, "yes", "affirm"))
    assert [m["text"] for m in messages] == [said] and events == []


def test_the_chat_page_is_told_over_socketio_only():
    messages, _ = run(ActionForgetMe(), tracker(ASKED, text="yes", intent="affirm", channel="socketio"))
    assert messages[-1]["custom"] == {"data": {"conversation_forgotten": True}}  # web/app.js watches for it
    messages, _ = run(ActionForgetMe(), tracker(ASKED, text="yes", intent="affirm", channel="telegram"))
    assert all(not m.get("custom") for m in messages)


def test_any_other_answer_keeps_everything_and_asks_again_next_time():
    messages, events = run(ActionKeepConversation(), tracker(ASKED))
    assert [m["response"] for m in messages] == ["utter_forget_me_cancelled"]
    assert events == [{"event": "slot", "timestamp": None, "name": "forget_me_confirmed", "value": None}]


def test_the_guided_dialogue_it_interrupted_resumes():
    _, events = run(ActionKeepConversation(), tracker(GUIDED + ASKED))
    assert events[-1] == {"event": "active_loop", "timestamp": None, "name": "recommendation_form"}
    finished = GUIDED + [{"event": "active_loop", "name": None}, {"event": "user", "text": "thanks"}]
    _, events = run(ActionKeepConversation(), tracker(finished + ASKED))
    assert all(e["event"] != "active_loop" for e in events)  # it had ended: nothing to resume


@pytest.mark.parametrize("language, question, titles", [
    ("en", "Delete this conversation", ["Yes, delete it", "No, keep it"]),
    ("fr", "Supprimer cette conversation", ["Oui, supprimer", "Non, garder"]),
])
def test_the_question_in_both_languages_with_buttons_the_guard_lets_through(language, question, titles):
    variants = DOMAIN["responses"]["utter_ask_forget_me_confirmed"]
    variant = next(v for v in variants if (v.get("condition") or [{}])[0].get("value", "en") == language)
    assert variant["text"].startswith(question)
    assert [b["title"] for b in variant["buttons"]] == titles
    assert [CONTRACT.accept(b["payload"]) for b in variant["buttons"]] == ["/affirm", "/deny"]


def test_only_a_yes_fills_the_answer_with_true():
    mappings = DOMAIN["slots"]["forget_me_confirmed"]["mappings"]
    assert [(m.get("intent"), m.get("not_intent"), m["value"]) for m in mappings] == [
        ("affirm", None, True), (None, ["affirm"], False)]
    assert all(m["conditions"] == [{"active_loop": "forget_me_form", "requested_slot": "forget_me_confirmed"}]
               for m in mappings)
