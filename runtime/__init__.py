"""How this assistant runs Rasa's server: `python -m runtime run …` is `rasa run …` with the changes
below applied first. Each one is measured in docs/benchmarks.md.

- `without_tensorflow`: neither Rasa's policies nor the model load import TensorFlow (unused here,
  about 430 MB);
- `action_validation`: action server responses are checked against a schema compiled once;
- `event_types`: stored events find their event class through a cache;
- `in_process_actions`: the `language` slot's custom mapping runs in the Rasa server, not over
  HTTP to the action server on every message;
- `store_outage`: a tracker store that fails refuses the message instead of forgetting the
  conversation (Rasa's fail-safe store), and one that is frozen does not freeze the instance (its
  calls off the event loop, with a time limit).
"""
