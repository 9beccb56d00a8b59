"""The one place where text is normalised: case, accents, apostrophes, French elisions, plurals and
tokens, so that "L’Aéronautique", "l aeronautique" and "aeronautique" compare equal. Names
(kb/names.py), language detection (kb/language.py), the ranking (kb/recommend/) and understanding
(kb/understand.py) all read text through it.

- Apostrophes: ’ ‘ ` ´ ʼ are read as ' (one character for one, so spans into the text still hold).
- Elisions: "l'", "d'", "qu'", "j'", "n'", "s'", "c'", "m'", "t'", "jusqu'", "lorsqu'", "puisqu'"
  glued to the next word are dropped ("l'aéronautique" -> "aeronautique"); `keep_elisions` keeps
  them as words ("c'est" -> "c", "est") where they are evidence (language cues, "s'il vous plaît").
- Tokens: runs of letters and digits, '+' kept ("Val+"), everything else a separator
  ("_" included); lower case (casefold) without accents.
- Plurals: `fold` ("clusters" -> "cluster", "réseaux" -> "reseau").
- Stop words: spaCy's lists (`stop_words`), lower case without accents.
"""

import functools
import importlib.util
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, FrozenSet, List, Tuple

# Keyboards and phones type these for an apostrophe; all are read as "'".
_APOSTROPHES = "'’‘`´ʼ"
_TO_APOSTROPHE = str.maketrans({ch: "'" for ch in _APOSTROPHES[1:]})
_ELISION = re.compile(r"\b(?:l|d|j|m|n|s|t|c|qu|jusqu|lorsqu|puisqu)'(?=\w)", re.IGNORECASE)
# A token: letters, digits, '+' and the combining accents of text typed decomposed ("e" + "´").
_TOKEN = re.compile(r"(?:[^\W_]|[+\u0300-\u036f])+")
_NORM_PIECE = re.compile(r"(?:[^\W_]|\+)+")
_LETTERS = re.compile(r"[^\W\d_]+")
# The ranking's words: hyphenated or apostrophe compounds whole ("éco-construction", "aujourd'hui").
_COMPOUND_WORD = re.compile(r"[^\W_]+(?:[-'][^\W_]+)*")
_COMPOUND_SEPARATOR = re.compile(r"[-']")


@dataclass(frozen=True)
class Token:
    norm: str  # lower case, no accents
    start: int  # its span in the text as given
    end: int


def unify_apostrophes(text: str) -> str:
    return text.translate(_TO_APOSTROPHE)


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def lower_without_accents(text: str) -> str:
    return strip_accents(text.casefold())


def elided_articles(text: str) -> List[str]:
    """The French elided articles of `text`, as typed ("C'est l'heure" -> ["C'", "l'"])."""
    return _ELISION.findall(unify_apostrophes(text))


def _without_elisions(text: str) -> str:
    """Apostrophes unified and elided articles blanked, character for character (spans hold)."""
    return _ELISION.sub(lambda m: " " * len(m.group()), unify_apostrophes(text))


def tokenize(text: str, keep_elisions: bool = False) -> List[Token]:
    """The tokens of `text` with their spans ("l'Aéronautique" -> "aeronautique", from 2 to 14)."""
    text = unify_apostrophes(text) if keep_elisions else _without_elisions(text)
    found = []
    for match in _TOKEN.finditer(text):
        # A compatibility character can decompose into several pieces ("½" -> "1", "2").
        for piece in _NORM_PIECE.findall(lower_without_accents(match.group())):
            found.append(Token(piece, match.start(), match.end()))
    return found


def normalize(text: str, keep_elisions: bool = False) -> str:
    """The tokens joined by single spaces: "L’Aéronautique, Val+" -> "aeronautique val+"."""
    return " ".join(t.norm for t in tokenize(text, keep_elisions))


def letter_words(text: str) -> List[str]:
    """The words without digits, elided articles kept, lower case without accents: the words
    language detection counts ("C'est 4x4" -> "c", "est", "x"). Kept apart from `tokenize` on
    purpose: an elided article is a French cue there, and a number a word of no language."""
    return [lower_without_accents(word) for word in _LETTERS.findall(text)]


def compound_words(text: str) -> List[Tuple[str, int, int]]:
    """The words as typed (case and accents kept, elided articles dropped), hyphenated and
    apostrophe compounds whole, with their spans: the ranking reads acronyms ("IT") and compounds
    ("éco-construction") from them."""
    return [(text[m.start():m.end()], m.start(), m.end()) for m in _COMPOUND_WORD.finditer(_without_elisions(text))]


def split_compound(word: str) -> List[str]:
    """The parts of a compound word ("éco-construction" -> "éco", "construction")."""
    return [part for part in _COMPOUND_SEPARATOR.split(unify_apostrophes(word)) if part]


def fold(word: str) -> str:
    """A normalised word without its plural mark ("clusters" -> "cluster", "reseaux" -> "reseau"),
    so that singular and plural compare equal."""
    if len(word) > 4 and word.endswith("aux"):
        return word[:-1]
    if len(word) > 3 and word[-1] in "sx" and not word.endswith("ss"):
        return word[:-1]
    return word


@functools.lru_cache(maxsize=None)
def stop_words(language: str) -> FrozenSet[str]:
    """spaCy's stop words for `language` ("en", "fr"), lower case without accents, read from its
    source file: importing spaCy would import TensorFlow (through thinc)."""
    spec = importlib.util.find_spec("spacy")  # locates the package; does not import it
    path = Path(spec.origin).parent / "lang" / language / "stop_words.py"
    namespace: Dict[str, Any] = {}
    exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), namespace)  # defines STOP_WORDS only
    return frozenset(lower_without_accents(w) for w in namespace["STOP_WORDS"])
