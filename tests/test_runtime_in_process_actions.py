"""runtime/in_process_actions.py: the `language` slot's custom mapping and the session start run in
the Rasa server and set exactly what Rasa's own path, the call to the real action server, sets."""

import uuid

import pytest
from rasa.core.actions.action import ActionExtractSlots, RemoteAction
from rasa.shared.core.events import SessionStarted, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker

from runtime import in_process_actions
# The agent loaded in this process as `rasa run` loads it, with the real action server.
from tests.test_cost_per_message import actions, endpoints, load, loop, sqlite_store  # noqa: F401

BOUNDED = "stores.bounded_tracker_store.BoundedSQLTrackerStore"
# Each way the language is chosen: detected, too short to tell, asked for, the page's metadata.
TURNS = [("What is Skywin?", None), ("c'est quoi MecaTech ?", None), ("ok", None), ("en français svp", None),
         ("what are its axes?", None), ("in English please", None), ("merci", None),
         ("/greet", {"language": "fr"}), ("list the clusters", {"language": "fr"}), ("Wie geht's?", None)]


def converse(loop, agent, work):
    """Each turn's replies and language slots, and how many action server calls it took."""
    sender, seen = f"in-process-{uuid.uuid4().hex[:8]}", []
    from rasa.core.channels.channel import UserMessage

    for text, metadata in TURNS:
        before = work["calls"]
        replies = loop.run_until_complete(agent.handle_message(UserMessage(text, sender_id=sender, metadata=metadata)))
        tracker = loop.run_until_complete(agent.tracker_store.retrieve(sender))
        seen.append(([r.get("text") for r in replies or []], tracker.get_slot("language"),
                     tracker.get_slot("sticky_language"), work["calls"] - before))
    return seen


@pytest.fixture
def work(monkeypatch):
    counts = {"calls": 0}
    run = RemoteAction.run

    async def counted_run(action, *args, **kwargs):
        counts["calls"] += 1
        return await run(action, *args, **kwargs)

    monkeypatch.setattr(RemoteAction, "run", counted_run)
    return counts


def test_the_language_slots_are_set_as_by_the_action_server_one_call_fewer_per_message(actions, loop, tmp_path,  # noqa: F811
                                                                                       monkeypatch, work):
    agent = load(loop, endpoints(tmp_path / "e.yml", actions, sqlite_store(BOUNDED, tmp_path / "c.db")))
    monkeypatch.setattr(ActionExtractSlots, "_run_custom_action", in_process_actions.RASA_RUN_CUSTOM_ACTION)
    by_rasa = converse(loop, agent, work)
    monkeypatch.setattr(ActionExtractSlots, "_run_custom_action", in_process_actions.run_custom_action)
    in_process = converse(loop, agent, work)

    assert [turn[:3] for turn in in_process] == [turn[:3] for turn in by_rasa]
    assert {turn[1] for turn in in_process} == {"en", "fr"} and {turn[2] for turn in in_process} >= {"en", "fr"}
    for (text, _), rasa_turn, in_process_turn in zip(TURNS, by_rasa, in_process):
        assert in_process_turn[3] == rasa_turn[3] - 1, text  # action_detect_language was one of them


def test_other_custom_actions_still_go_to_the_action_server(actions, loop, tmp_path, monkeypatch, work):  # noqa: F811
    agent = load(loop, endpoints(tmp_path / "e.yml", actions, sqlite_store(BOUNDED, tmp_path / "c.db")))
    tracker = loop.run_until_complete(agent.tracker_store.get_or_create_tracker("other"))
    extract = ActionExtractSlots(agent.action_endpoint)
    loop.run_until_complete(in_process_actions.run_custom_action(
        extract, "action_list_sectors", None, agent.nlg, tracker, agent.domain))
    assert work["calls"] == 1
    assert "action_list_sectors" not in in_process_actions.IN_PROCESS


def test_the_session_start_sets_what_the_action_server_sets(actions, loop, tmp_path, work):  # noqa: F811
    agent = load(loop, endpoints(tmp_path / "e.yml", actions, sqlite_store(BOUNDED, tmp_path / "c.db")))
    tracker = DialogueStateTracker.from_events("session", [SlotSet("cluster", "skywin"), SlotSet("language", "fr"),
                                                           SlotSet("page_note_said", True)], agent.domain.slots)
    remote = RemoteAction("action_session_start", agent.action_endpoint)
    in_process = in_process_actions.action_for_name_or_text("action_session_start", agent.domain, agent.action_endpoint)
    assert isinstance(in_process, in_process_actions.InProcessAction)
    by_rasa = loop.run_until_complete(remote.run(None, agent.nlg, tracker, agent.domain))
    here = loop.run_until_complete(in_process.run(None, agent.nlg, tracker, agent.domain))
    assert work["calls"] == 1  # the remote one only
    assert [(type(e), e.as_dict().get("name"), e.as_dict().get("value")) for e in here] == \
        [(type(e), e.as_dict().get("name"), e.as_dict().get("value")) for e in by_rasa]
    assert isinstance(here[0], SessionStarted) and SlotSet("cluster", "skywin") in here
    assert not any(isinstance(e, SlotSet) and e.key == "page_note_said" for e in here)
    # any other action is Rasa's
    assert in_process_actions.action_for_name_or_text("action_list_sectors", agent.domain, agent.action_endpoint).name() \
        == "action_list_sectors"


def test_install_replaces_rasas_methods(monkeypatch):
    import rasa.core.actions.action as rasa_action

    monkeypatch.setattr(ActionExtractSlots, "_run_custom_action", in_process_actions.RASA_RUN_CUSTOM_ACTION)
    monkeypatch.setattr(rasa_action, "action_for_name_or_text", in_process_actions.RASA_ACTION_FOR_NAME_OR_TEXT)
    in_process_actions.install()
    assert ActionExtractSlots._run_custom_action is in_process_actions.run_custom_action
    assert rasa_action.action_for_name_or_text is in_process_actions.action_for_name_or_text
