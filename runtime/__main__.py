"""`python -m runtime <rasa arguments>`: Rasa's command line with this assistant's runtime changes
(runtime/__init__.py). scripts/run.sh, the tests and the benchmark start the Rasa server this way."""

import sys
from typing import List, Optional

from runtime import without_tensorflow

without_tensorflow.install()  # first: the imports below would pull TensorFlow in through rasa.core

from runtime import action_validation, event_types, in_process_actions, store_outage  # noqa: E402


def main(extra_args: Optional[List[str]] = None) -> int:
    action_validation.install()
    event_types.install()
    in_process_actions.install()
    store_outage.install()
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", *sys.argv[1:], *(extra_args or [])]
    rasa_main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
