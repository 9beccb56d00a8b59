"""Two custom actions run inside the Rasa server instead of over HTTP.

- The `language` slot's custom mapping: Rasa 3.6's `ActionExtractSlots` runs it on the action
  server before every prediction (`_run_custom_action` → `RemoteAction`): one round trip per
  message, with the whole tracker and the domain as JSON, for `action_detect_language`
  (actions/language.py), which reads only the latest message and two slots.
- The session start (actions/session.py): over HTTP, a session that starts while the action
  server is down loses its `session_started` event, and no rule applies to that conversation
  any more, even once the action server is back.

`install()` makes `ActionExtractSlots._run_custom_action` and `action_for_name_or_text` run the
actions of IN_PROCESS in this process: the same rasa-sdk class, given a rasa-sdk tracker of the
latest message and the slots, its events converted as Rasa converts an action server's reply
(and, for a slot mapping, kept as Rasa keeps them: SlotSet only). These actions utter nothing.
Any other custom action goes to the action server as before. A stock `rasa run` (the
benchmark's anchor) still calls the action server, which serves the same classes.
"""

import logging
from typing import Any, Dict, List, Text

import rasa.core.actions.action
from rasa.core.actions.action import ActionExtractSlots
from rasa.shared.core.events import Event, SlotSet, deserialise_events
from rasa_sdk import Action as SdkAction
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.language import ActionDetectLanguage
from actions.session import ActionSessionStart

logger = logging.getLogger(__name__)
# Rasa's, kept for the tests' comparison.
RASA_RUN_CUSTOM_ACTION = ActionExtractSlots._run_custom_action
RASA_ACTION_FOR_NAME_OR_TEXT = rasa.core.actions.action.action_for_name_or_text
IN_PROCESS = {action.name(): action for action in (ActionDetectLanguage(), ActionSessionStart())}


def sdk_tracker(tracker: Any) -> Tracker:
    """What an in-process action may read: the latest message (as the action server gets it) and
    the slots; no events, so the cost does not grow with the conversation."""
    return Tracker(tracker.sender_id, tracker.current_slot_values(), tracker._latest_message_data() or {},
                   [], tracker.is_paused(), tracker.followup_action,
                   {"name": tracker.active_loop_name} if tracker.active_loop_name else {},
                   tracker.latest_action_name)


def run_in_process(action: SdkAction, tracker: Any) -> List[Event]:
    dispatcher = CollectingDispatcher()
    events: List[Dict[Text, Any]] = action.run(dispatcher, sdk_tracker(tracker), {})
    if dispatcher.messages:
        raise RuntimeError(f"{action.name()} runs in the Rasa server and may not utter: {dispatcher.messages}")
    return deserialise_events(events)


class InProcessAction(rasa.core.actions.action.Action):
    """A rasa-sdk action of IN_PROCESS, as the Rasa server runs its own actions."""

    def __init__(self, action: SdkAction) -> None:
        self._action = action

    def name(self) -> Text:
        return self._action.name()

    async def run(self, output_channel: Any, nlg: Any, tracker: Any, domain: Any) -> List[Event]:
        return run_in_process(self._action, tracker)


async def run_custom_action(self: ActionExtractSlots, custom_action: Text, output_channel: Any, nlg: Any,
                            tracker: Any, domain: Any) -> List[Event]:
    action = IN_PROCESS.get(custom_action)
    if action is None:
        return await RASA_RUN_CUSTOM_ACTION(self, custom_action, output_channel, nlg, tracker, domain)
    return [event for event in run_in_process(action, tracker) if isinstance(event, SlotSet)]


def action_for_name_or_text(action_name_or_text: Text, domain: Any, action_endpoint: Any) -> Any:
    found = RASA_ACTION_FOR_NAME_OR_TEXT(action_name_or_text, domain, action_endpoint)  # Rasa's checks first
    action = IN_PROCESS.get(action_name_or_text)
    return InProcessAction(action) if action is not None else found


def install() -> None:
    ActionExtractSlots._run_custom_action = run_custom_action
    rasa.core.actions.action.action_for_name_or_text = action_for_name_or_text
