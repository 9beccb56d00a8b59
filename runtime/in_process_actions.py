"""The `language` slot's custom mapping runs inside the Rasa server instead of over HTTP.

Rasa 3.6's `ActionExtractSlots` runs a slot's custom mapping action on the action server before
every prediction (`_run_custom_action` → `RemoteAction`): one round trip per message, with the
whole tracker and the domain as JSON, for `action_detect_language` (actions/language.py), which
reads only the latest message and two slots. `install()` makes `_run_custom_action` run the
actions of IN_PROCESS in this process: the same rasa-sdk class, given a rasa-sdk tracker of the
latest message and the slots, its events converted as Rasa converts an action server's reply and
kept as Rasa keeps them (SlotSet only: these actions utter nothing). Any other custom action goes
to the action server as before. A stock `rasa run` (the benchmark's anchor) still calls the
action server, which serves the same class.
"""

import logging
from typing import Any, Dict, List, Text

from rasa.core.actions.action import ActionExtractSlots
from rasa.shared.core.events import Event, SlotSet, deserialise_events
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.language import ActionDetectLanguage

logger = logging.getLogger(__name__)
RASA_RUN_CUSTOM_ACTION = ActionExtractSlots._run_custom_action  # kept for the tests' comparison
IN_PROCESS = {action.name(): action for action in (ActionDetectLanguage(),)}


def sdk_tracker(tracker: Any) -> Tracker:
    """What an in-process action may read: the latest message (as the action server gets it) and
    the slots; no events, so the cost does not grow with the conversation."""
    return Tracker(tracker.sender_id, tracker.current_slot_values(), tracker._latest_message_data() or {},
                   [], tracker.is_paused(), tracker.followup_action,
                   {"name": tracker.active_loop_name} if tracker.active_loop_name else {},
                   tracker.latest_action_name)


async def run_custom_action(self: ActionExtractSlots, custom_action: Text, output_channel: Any, nlg: Any,
                            tracker: Any, domain: Any) -> List[Event]:
    action = IN_PROCESS.get(custom_action)
    if action is None:
        return await RASA_RUN_CUSTOM_ACTION(self, custom_action, output_channel, nlg, tracker, domain)
    dispatcher = CollectingDispatcher()
    events: List[Dict[Text, Any]] = action.run(dispatcher, sdk_tracker(tracker), {})
    if dispatcher.messages:
        raise RuntimeError(f"{custom_action} runs in the Rasa server and may not utter: {dispatcher.messages}")
    return [event for event in deserialise_events(events) if isinstance(event, SlotSet)]


def install() -> None:
    ActionExtractSlots._run_custom_action = run_custom_action
