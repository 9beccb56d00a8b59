"""The guard of the web channels (channels/guard.py) and the button payloads it lets through
(actions/buttons.py), without servers; end to end: tests/test_e2e_hostile_input.py."""

import asyncio
import re
import sys
import subprocess

import pytest
import yaml
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.nlg.interpolator import interpolate_text

from actions import render
from actions.buttons import CONTRACT, UndeclaredButton, load, split
from channels import guard
from tests.channel_mocks import run_credentials_script
from tests.servers import ROOT

# --- input ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["", "   ", "\t\n", "\x00\x07", "<b></b>", "//", "/ "])
def test_an_empty_message_becomes_the_tour(raw):
    text, info = guard.prepare(raw)
    assert text == "/help" and info["empty"]


def test_control_characters_terminal_escapes_and_bidi_overrides_are_removed():
    text, info = guard.prepare("what\x00 is\x07 \x1b[31mSkywin\x1b[0m\u202e?\ud800\ufeff")
    assert text == "what is Skywin ?" and info["control_removed"]
    assert all(ch.isprintable() for ch in text)


def test_right_to_left_text_and_emoji_are_kept():
    for raw in ("مرحبا، ما هو سكاي وين؟", "שלום, מה זה סקייווין?", "🙂🚀🎉", "👩‍🔬 start-up"):
        assert guard.prepare(raw) == (raw, {})


@pytest.mark.parametrize("raw, expected", [
    ("<script>alert(1)</script>", "alert(1)"),
    ("what is <b>Skywin</b>?", "what is Skywin ?"),
    ('<img src=x onerror="alert(1)">tell me about BioWin', "tell me about BioWin"),
    ("tell me about [click](javascript:alert(1))", "tell me about click"),
    ("![x](https://evil.example/a.png) hi", "x hi"),
])
def test_markup_and_links_are_reduced_to_text(raw, expected):
    text, info = guard.prepare(raw)
    assert text == expected and info["markup_removed"]
    assert not re.search(r"[<>]|\]\(", text)


def test_comparison_signs_are_not_markup():
    assert guard.prepare("clusters with < 50 members and > 10 projects")[0] == "clusters with < 50 members and > 10 projects"


def test_a_long_message_is_capped_before_the_nlu():
    raw = "What is Skywin and what are its axes? " * 600  # 22 800 characters
    text, info = guard.prepare(raw)
    assert len(text) <= guard.DEFAULT_INPUT_MAX_CHARS and text.startswith("What is Skywin")
    assert info == {"truncated_to": 2000, "received_chars": len(raw)}


def test_overlong_words_are_dropped():
    text, info = guard.prepare("x" * 20000)
    assert text == "/help" and info["long_words_removed"] == 1 and info["received_chars"] == 20000
    assert guard.prepare("what is " + "a" * 80 + " skywin")[0] == "what is skywin"


def test_the_cap_is_configurable(monkeypatch):
    monkeypatch.setenv("INPUT_MAX_CHARS", "50")
    text, info = guard.prepare("word " * 100)
    assert len(text) <= 50 and info["truncated_to"] == 50


@pytest.mark.parametrize("value, expected", [
    ("user-1", "user-1"), (12345, "12345"), ("  padded ", "padded"),
    (None, None), ("", None), ("   ", None), (True, None), ({"a": 1}, None), (["x"], None),
    ("x" * 129, None), ("a\nb", None), ("a\x00b", None),
])
def test_sender_ids(value, expected):
    assert guard.clean_sender(value) == expected


# --- hand-typed payloads -----------------------------------------------------------------------


def test_the_payloads_accepted_are_those_of_the_bots_buttons():
    assert {intent: set(entities) for intent, entities in CONTRACT.intents.items()} == {
        "ask_cluster_info": {"cluster"}, "ask_cluster_strategy": {"cluster"}, "ask_cluster_members": {"cluster"},
        "ask_cluster_website": {"cluster"}, "ask_join": {"cluster"}, "ask_more": {"cluster", "topic"},
        "list_clusters": {"sector"},
        "inform_organisation_type": {"organisation_type"}, "inform_goal": {"goal"}, "skip_question": set(),
        "list_sectors": set(), "ask_policy_difference": set(), "ask_policy_history": set(),
        "ask_policy_clustering": set(), "greet": set(), "affirm": set(), "deny": set(),  # "Delete this conversation?"
    }


def every_rendered_payload(knowledge):
    """Every payload the actions' replies and the domain's responses carry, by running render.py
    over the whole knowledge base in both languages."""
    from actions.knowledge import STORE

    replies = []
    for language in ("en", "fr"):
        for cluster in knowledge.clusters:
            replies.append(render.cluster_overview(knowledge, cluster, language))
            for attribute in ("strategy", "members", "sector", "type", "website", "founded"):
                replies.append(render.cluster_attribute(knowledge, cluster, attribute, language))
            replies.append(render.joining(knowledge, render.Reply("x"), cluster, language))
        replies.append(render.cluster_list(knowledge, knowledge.clusters, "h", language, by_sector=True))
        replies.append(render.sectors(knowledge, language))
        replies.append(render.comparison(knowledge, knowledge.clusters[:3], language))
        ids = [c.id for c in knowledge.clusters[:3]]
        replies.append(render.unknown_fact(knowledge, knowledge.clusters[0], "director", language))
        dated = [c.id for c in knowledge.clusters if c.founded][:3]
        replies.append(render.ordering(knowledge, dated, ids, "oldest", language, lambda c: 2006))
        replies.append(render.filtered(knowledge, ids, ids, language))
        replies.append(render.group(knowledge, knowledge.clusters[:3], language))
        replies += [render.topic(knowledge, topic, language) for topic in knowledge.topics.values()]
        replies.append(render.unknown_cluster(knowledge, "x", [knowledge.clusters[0].id], language))
        replies.append(render.ask_which_cluster(knowledge, language))
        replies += [render.ask_organisation_type(language), render.ask_goal(language)]
        for activity in ("we build drones", "we produce cheese", "we recycle plastics"):
            matches = STORE.ranker.rank(activity, "company", "rnd").matches
            replies.append(render.recommendation(knowledge, matches, "rnd", language))
        replies.append(render.recommendation(knowledge, [], None, language))
    payloads = {b["payload"] for reply in replies for b in reply.buttons}
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    for variants in domain["responses"].values():  # as Rasa sends them: interpolated
        payloads |= {interpolate_text(b["payload"], {}) for v in variants for b in v.get("buttons", [])}
    return payloads


def test_every_button_the_bot_sends_is_accepted_unchanged(knowledge):
    payloads = every_rendered_payload(knowledge)
    assert len(payloads) > 60
    refused = sorted(p for p in payloads if CONTRACT.accept(p) != p)
    assert not refused, f"buttons the web channels would refuse: {refused}"


def test_the_web_pages_opening_payload_is_accepted():
    opening = re.search(r'initPayload:\s*"([^"]+)"', (ROOT / "web" / "app.js").read_text(encoding="utf-8"))
    assert opening and CONTRACT.accept(opening.group(1)) == opening.group(1)


@pytest.mark.parametrize("typed, becomes", [
    ("/restart", "restart"),
    ("/session_start", "session_start"),
    ("/nlu_fallback", "nlu_fallback"),
    ("/forget_me", "forget_me"),  # an intent of the domain, but no button sends it
    ('/inform_goal{"language": "fr"}', 'inform_goal{"language": "fr"}'),
    ('/ask_cluster_info{"cluster": "skywin", "requested_slot": "goal"}', 'ask_cluster_info{"cluster": "skywin", "requested_slot": "goal"}'),
    ('/inform_goal{"activity": "drones"}', 'inform_goal{"activity": "drones"}'),
    ('/inform_goal{"goal": "world domination"}', 'inform_goal{"goal": "world domination"}'),
    ('/ask_cluster_info{"cluster": "Skywin; DROP TABLE events"}', 'ask_cluster_info{"cluster": "Skywin; DROP TABLE events"}'),
    ('/ask_cluster_info@0.99{"cluster": "skywin"}', 'ask_cluster_info@0.99{"cluster": "skywin"}'),
    ("/greet hello there", "greet hello there"),
    ("///list_sectors", "list_sectors"),
])
def test_other_payloads_are_read_as_text(typed, becomes):
    text, info = guard.prepare(typed)
    assert text == becomes and info["payload_refused"]


def test_no_payload_sets_the_slots_no_button_sets():
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    settable = {entity for entities in CONTRACT.intents.values() for entity in entities}
    assert settable == {"cluster", "sector", "topic", "organisation_type", "goal"}
    for slot in ("language", "sticky_language", "activity", "requested_slot", "shown_clusters", "quick_recommendation"):
        assert slot in domain["slots"] or slot == "requested_slot"
        for intent in CONTRACT.intents:
            assert CONTRACT.accept(f'/{intent}{{"{slot}": "fr"}}') is None


def test_a_payload_is_re_serialised_as_the_buttons_write_it():
    assert CONTRACT.accept('/ask_join{"cluster":"val-plus"}') == '/ask_join{"cluster": "val-plus"}'


def test_a_button_the_contract_does_not_declare_is_refused_where_it_is_written():
    with pytest.raises(UndeclaredButton):
        render.button("Restart", "restart")
    with pytest.raises(UndeclaredButton):
        render.button("French", "ask_cluster_info", language="fr")
    assert render.button("Skywin", "ask_cluster_info", cluster="skywin") == {
        "title": "Skywin", "payload": '/ask_cluster_info{"cluster": "skywin"}'}


def test_adding_a_button_is_one_line_of_the_contract():
    contract = load({"buttons": {"ask_founder": ["cluster"]}, "opening": "greet", "identifier": "^[a-z]+$"}, {})
    assert contract.intents == {"ask_founder": {"cluster"}, "greet": set()}
    assert contract.button("Founder", "ask_founder", cluster="skywin")["payload"] == '/ask_founder{"cluster": "skywin"}'
    assert contract.accept("/greet") == "/greet" == contract.opening


def test_every_button_of_the_domain_is_declared_in_the_contract():
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    buttons = [b for variants in domain["responses"].values() for v in variants for b in v.get("buttons", [])]
    assert len(buttons) >= 10
    for written in buttons:
        sent = interpolate_text(written["payload"], {})  # as Rasa sends it: the doubled braces made single
        assert split(sent) and CONTRACT.accept(sent) == sent, f"{sent}: add it to actions/buttons.yml"


def test_the_web_page_and_telegram_open_with_the_contracts_opening():
    from channels.telegram import GREET_PAYLOAD

    opening = re.search(r'initPayload:\s*"([^"]+)"', (ROOT / "web" / "app.js").read_text(encoding="utf-8"))
    assert opening.group(1) == CONTRACT.opening == GREET_PAYLOAD == "/greet"


# --- answers ---------------------------------------------------------------------------------------


def run(coroutine):
    return asyncio.run(coroutine)


def test_a_message_that_produced_nothing_gets_the_unavailable_answer():
    async def silent(message):  # e.g. the action server down: Rasa says nothing
        return None

    async def failing(message):
        raise TimeoutError("action server")

    for handler in (silent, failing):
        for metadata, expected in ((None, ["Sorry, I can't answer right now", "Désolé, je ne peux pas répondre"]),
                                   ({"language": "fr"}, ["Désolé, je ne peux pas répondre"])):
            output = CollectingOutputChannel()
            run(guard.MessageGuard().deliver(handler, UserMessage("hi", output, "u1", metadata=metadata)))
            text = "\n".join(m["text"] for m in output.messages)
            assert all(e in text for e in expected) and len(output.messages) == len(expected)
            assert ("Sorry" in text) == (metadata is None)


def test_a_message_that_was_answered_gets_nothing_more():
    async def answered(message):
        await message.output_channel.send_response(message.sender_id, {"text": "Hello!"})

    output = CollectingOutputChannel()
    run(guard.MessageGuard().deliver(answered, UserMessage("hi", output, "u1")))
    assert [m["text"] for m in output.messages] == ["Hello!"]


def test_messages_of_one_sender_are_handled_one_at_a_time_in_order():
    handled, active = [], {"now": 0, "max": 0}

    async def handler(message):
        active["now"] += 1
        active["max"] = max(active["max"], active["now"])
        await asyncio.sleep(0.01)
        handled.append(message.text)
        active["now"] -= 1
        await message.output_channel.send_response(message.sender_id, {"text": "ok"})

    async def scenario():
        keeper = guard.MessageGuard(max_pending=100)
        await asyncio.gather(*(keeper.deliver(handler, UserMessage(str(i), CollectingOutputChannel(), "same"))
                               for i in range(30)))
        return keeper

    keeper = run(scenario())
    assert handled == [str(i) for i in range(30)] and active["max"] == 1
    assert keeper.turns.pending("same") == 0 and not keeper.turns._locks


def test_too_many_waiting_messages_are_told_to_wait():
    async def slow(message):
        await asyncio.sleep(0.05)
        await message.output_channel.send_response(message.sender_id, {"text": "ok"})

    async def scenario():
        keeper = guard.MessageGuard(max_pending=3)
        outputs = [CollectingOutputChannel() for _ in range(5)]
        await asyncio.gather(*(keeper.deliver(slow, UserMessage("x", out, "s", metadata={"language": "en"})) for out in outputs))
        return [out.messages[0]["text"] for out in outputs]

    answers = run(scenario())
    assert answers.count("ok") == 3 and answers.count(guard.busy_text("en")) == 2


# --- the action server timeout, the credentials ----------------------------------------------------------


def test_the_action_server_timeout_is_set_where_remote_actions_read_it(monkeypatch):
    import rasa.core.actions.action as rasa_action

    monkeypatch.setattr(rasa_action, "DEFAULT_REQUEST_TIMEOUT", 300)
    monkeypatch.delenv("ACTION_SERVER_TIMEOUT", raising=False)
    assert guard.configure_action_server_timeout() == 5 and rasa_action.DEFAULT_REQUEST_TIMEOUT == 5
    monkeypatch.setenv("ACTION_SERVER_TIMEOUT", "2.5")
    guard.configure_action_server_timeout()
    assert rasa_action.DEFAULT_REQUEST_TIMEOUT == 2.5
    monkeypatch.setenv("ACTION_SERVER_TIMEOUT", "soon")
    with pytest.raises(ValueError, match="ACTION_SERVER_TIMEOUT"):
        guard.configure_action_server_timeout()


def test_guarded_credentials_name_the_guarded_channels_with_the_same_options(tmp_path):
    out = tmp_path / "credentials.yml"
    env_result = subprocess.run([sys.executable, str(ROOT / "scripts" / "credentials.py"), "--guarded", "--out", str(out)],
                                capture_output=True, text=True)
    assert env_result.returncode == 0, env_result.stderr
    guarded = yaml.safe_load(out.read_text())
    stock = yaml.safe_load((ROOT / "credentials.yml").read_text())
    assert set(guarded) >= {"channels.rest.GuardedRestInput", "channels.socketio.GuardedSocketIOInput"}
    assert "rest" not in guarded and "socketio" not in guarded
    assert guarded["channels.socketio.GuardedSocketIOInput"] == stock["socketio"]
    assert run_credentials_script(tmp_path / "plain.yml").returncode == 0  # without --guarded: unchanged
    assert set(yaml.safe_load((tmp_path / "plain.yml").read_text())) == {"rest", "socketio", "stores.health.HealthInput"}
