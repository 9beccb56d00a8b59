"""Runs a custom action as the action server would: a real rasa-sdk Tracker and
CollectingDispatcher, with the latest message as the NLU would have parsed it."""

from typing import Any, Dict, List, Optional, Tuple

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from kb.names import NameMatcher
from kb.understand import load_understanding

UNDERSTANDING = load_understanding()


def tracker_for(
    text: str,
    intent: str,
    slots: Optional[Dict[str, Any]] = None,
    entities: Optional[List[Dict[str, Any]]] = None,
) -> Tracker:
    return Tracker(
        sender_id="test",
        slots=slots or {},
        latest_message={"text": text, "intent": {"name": intent, "confidence": 1.0}, "entities": entities or []},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def entities_from(matcher: NameMatcher, text: str) -> List[Dict[str, Any]]:
    """The entities the NLU gives for `text`: the names (KnowledgeEntityExtractor), then what the
    words ask (UnderstandingExtractor)."""
    names = [{"entity": m.entity, "value": m.value, "start": m.start, "end": m.end} for m in matcher.find(text)]
    return names + [{"entity": e, "value": v, "start": 0, "end": len(text)} for e, v in UNDERSTANDING.entity_values(text)]


def run(action, tracker: Tracker) -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = action.run(dispatcher, tracker, {})
    return dispatcher.messages, events


def text_of(messages: List[Dict[str, Any]]) -> str:
    return "\n".join(m.get("text") or "" for m in messages)


def payloads(messages: List[Dict[str, Any]]) -> List[str]:
    return [b["payload"] for m in messages for b in m.get("buttons", [])]


def slots_set(events: List[Dict[str, Any]]) -> Dict[str, Any]:
    """The slots an action's events set, by name."""
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
