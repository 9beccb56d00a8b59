"""Reads which item of the last list a follow-up means: "the second one", "number 3", "le
dernier". Language, not facts, so it lives with the actions."""

import re
from typing import Optional

from kb.text import normalize

LAST = 0  # stands for the last item, whatever the list's length

_WORDS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13,
    "fourteenth": 14, "last": LAST,
    "premier": 1, "premiere": 1, "deuxieme": 2, "second": 2, "seconde": 2, "troisieme": 3,
    "quatrieme": 4, "cinquieme": 5, "sixieme": 6, "septieme": 7, "huitieme": 8, "neuvieme": 9,
    "dixieme": 10, "onzieme": 11, "douzieme": 12, "treizieme": 13, "quatorzieme": 14,
    "dernier": LAST, "derniere": LAST,
}
_NUMBER = re.compile(r"^(\d{1,2})(?:st|nd|rd|th|e|er|ere|eme|ème)?$")


def parse_ordinal(text: str) -> Optional[int]:
    """1-based position, `LAST`, or None when the text names no position."""
    for word in normalize(text).split():
        if word in _WORDS:
            return _WORDS[word]
        number = _NUMBER.match(word)
        if number:
            return int(number.group(1))
    return None
