"""Action server responses checked against Rasa's schema, compiled once instead of on every call.

Rasa 3.6's `RemoteAction._validate_action_result` calls `jsonschema.validate(response, schema)`,
which first validates the (constant) schema itself against the JSON Schema 2020-12 meta-schema.
That check took about 60 % of the Rasa server's CPU time per message under load (py-spy,
docs/benchmarks.md). `install()` replaces the method with one that checks the schema once and
then validates each response exactly as before: the same validator class, the same
`ValidationError` (best match), with Rasa's own message suffix.

Even compiled, the schema costs about 3 ms a response: each event is tried against the `oneOf`
of all 23 event types. Every one of them fixes `event` to a constant, so an event can only be
valid against the types of its own name: `passes` tries those only (exactly one must pass, as
`oneOf` requires). A response it does not pass is validated in full, as Rasa would, for the
error.
"""

import copy
from functools import lru_cache
from typing import Any, Dict, List, Text, Tuple

from jsonschema import exceptions, validators
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL

RASA_VALIDATE = RemoteAction._validate_action_result  # kept for the tests' comparison


@lru_cache(maxsize=None)
def response_validator() -> Any:
    schema = RemoteAction.action_response_format_spec()
    validator_class = validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


@lru_cache(maxsize=None)
def event_type_validators() -> Tuple[Any, Dict[Text, List[Any]]]:
    """The schema without the events' `oneOf`, and the validators of each event type by name."""
    schema = copy.deepcopy(RemoteAction.action_response_format_spec())
    event_types = schema["properties"]["events"]["items"].pop("oneOf")
    validator_class = validators.validator_for(schema)
    by_name: Dict[Text, List[Any]] = {}
    for event_type in event_types:
        by_name.setdefault(event_type["properties"]["event"]["const"], []).append(validator_class(event_type))
    return validator_class(schema), by_name


def passes(result: Any) -> bool:
    """Whether the response is valid against Rasa's schema (False: maybe not; validate in full)."""
    outer, by_name = event_type_validators()
    if not outer.is_valid(result):
        return False
    # Valid against the outer schema: `events`, if there, is a list of objects with a string `event`.
    return all(sum(v.is_valid(event) for v in by_name.get(event["event"], ())) == 1
               for event in (result.get("events") or []))


def validate_action_result(self: RemoteAction, result: Dict[Text, Any]) -> bool:
    if passes(result):
        return True
    error = exceptions.best_match(response_validator().iter_errors(result))
    if error is None:
        return True
    error.message += (
        f". Failed to validate Action server response from API, "
        f"make sure your response from the Action endpoint is valid. "
        f"For more information about the format visit "
        f"{DOCS_BASE_URL}/custom-actions"
    )
    raise error


def install() -> None:
    response_validator()  # a broken schema fails here, at start, not on the first message
    event_type_validators()
    RemoteAction._validate_action_result = validate_action_result

