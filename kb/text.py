"""Text normalisation shared by the name matcher and the ranking: case, accents, elisions and
punctuation, so that "L'Aéronautique", "l aeronautique" and "aeronautique" compare equal."""

import re
import unicodedata
from typing import List

# French elisions ("l'", "d'", "qu'"…) glue an article to the next word; split them off.
_ELISION = re.compile(r"\b(?:l|d|j|m|n|s|t|c|qu|jusqu|lorsqu|puisqu)['’](?=\w)", re.IGNORECASE)
_NON_WORD = re.compile(r"[^\w+]+")


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def normalize(text: str) -> str:
    """Lower case, no accents, elisions split, punctuation as spaces ('+' kept: "Val+")."""
    text = _ELISION.sub(" ", text)
    text = strip_accents(text.casefold())
    return " ".join(_NON_WORD.sub(" ", text).replace("_", " ").split())


def fold(word: str) -> str:
    """A normalised word without its plural mark ("clusters" -> "cluster", "reseaux" -> "reseau"),
    so that singular and plural compare equal."""
    if len(word) > 4 and word.endswith("aux"):
        return word[:-1]
    if len(word) > 3 and word[-1] in "sx" and not word.endswith("ss"):
        return word[:-1]
    return word


def tokens(text: str) -> List[str]:
    return normalize(text).split()
