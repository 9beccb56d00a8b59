"""Action server responses checked against Rasa's schema, compiled once instead of on every call.

Rasa 3.6's `RemoteAction._validate_action_result` calls `jsonschema.validate(response, schema)`,
which first validates the (constant) schema itself against the JSON Schema 2020-12 meta-schema.
That check took about 60 % of the Rasa server's CPU time per message under load (py-spy,
docs/benchmarks.md). `install()` replaces the method with one that checks the schema once and
then validates each response exactly as before: the same validator class, the same
`ValidationError` (best match), with Rasa's own message suffix.
"""

from functools import lru_cache
from typing import Any, Dict, Text

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


def validate_action_result(self: RemoteAction, result: Dict[Text, Any]) -> bool:
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
    RemoteAction._validate_action_result = validate_action_result

