"""Rasa's event classes looked up by type name once, instead of on every stored event.

Rasa 3.6 rebuilds an event from its stored form with `Event.resolve_by_type`, which walks every
subclass of `Event` (checking each for abstract methods) for each event. Tracker stores do it for
every event of the conversation on every message: about 7 % of the Rasa server's CPU per message
under load (py-spy, docs/benchmarks.md). `install()` puts a cache in front of Rasa's lookup: the
first lookup of a name is Rasa's own (same class, same error for an unknown name), later ones
are a dictionary read.
"""

from typing import Dict, Optional, Text, Type

from rasa.shared.core.events import Event

RASA_RESOLVE_BY_TYPE = Event.resolve_by_type  # kept for the tests' comparison
_classes: Dict[Text, Type[Event]] = {}


def resolve_by_type(type_name: Text, default: Optional[Type[Event]] = None) -> Optional[Type[Event]]:
    event_class = _classes.get(type_name)
    if event_class is None:
        event_class = RASA_RESOLVE_BY_TYPE(type_name, default)
        if event_class is not None and event_class is not default:
            _classes[type_name] = event_class
    return event_class


def install() -> None:
    Event.resolve_by_type = staticmethod(resolve_by_type)
