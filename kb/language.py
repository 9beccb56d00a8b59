"""Which language a message is in ("en", "fr", "other" or "unknown"), whether the user asks for a
language ("en français svp"), and which language the assistant answers in.

Plain Python (no Rasa import): the NLU component `components.language_detector` and the actions
share it, and it is tested on its own (tests/test_kb_language.py).

How a message's language is told, in order:

1. The spans of known names are cut out (clusters, sectors, cluster types: a
   `kb.names.NameMatcher`, or plain strings; and the towns of `PLACE_NAMES`). "What is Cluster
   Photonique?" is then "What is", English; "C'est quoi Logistics in Wallonia ?" is "C'est quoi".
2. Cheap, explainable cues are counted on what is left: words found in one language only ("the",
   "what", "please" / "les", "quoi", "svp"), elisions ("c'est", "qu'est") and contractions
   ("what's"), French accents, and the common words and letters of German, Dutch, Spanish,
   Italian and Portuguese (all "other").
3. Nothing left, or an intent payload ("/greet"): "unknown". With one word left, its cue decides:
   "merci" is French, "thanks" English, "danke" other; "ok", "Skywin", "?", "👍" are "unknown",
   so the conversation keeps its language. A non-Latin script is "other".
4. Otherwise the model (below) gives English, French and the likeliest other language a
   probability. "Other" needs more other cues than English and French ones, or a sure model.
   English against French: the model's difference plus `CUE_WEIGHT` a cue must lead by
   `MIN_MARGIN` (`MODEL_ALONE_MARGIN` when the cues are even); else "unknown".

The model: `lingua-language-detector` 2.1.1 (Rust, through PyO3). Its n-gram models are compiled
into the wheel's extension module (~96 MB), so nothing is downloaded, at install or at run time;
it depends on no other package (so it moves no version that Rasa pins) and ships a CPython 3.10
manylinux wheel. It is asked about English, French, German, Dutch, Spanish and Italian only (the
languages a visitor to a Walloon site most likely writes in): fewer languages make short messages
more accurate and the model smaller. It reads the text without accents, because it rules English
out for a single "é" ("a résumé") and French is often typed without them; accents are a cue.

Measured on this project's machine (2 cores), on the 1,558 English and French training examples
of data/nlu plus 100 hand-written mixed and other-language messages, with the same name removal,
cues and thresholds around each model:

| model | wrong language | "unknown" | per message | load | memory |
| --- | --- | --- | --- | --- | --- |
| lingua 2.1.1, high accuracy (chosen) | 0 | 129 | 0.06 ms (0.25 ms with cues and names) | 1.1 s | ~150-210 MB |
| lingua 2.1.1, low accuracy mode | 7 | 154 | 0.02 ms | 0.07 s | ~13 MB |
| langid 1.1.6 (model embedded) | 22 | 134 | 0.4 ms | 1.6 s | ~65 MB |
| langdetect 1.0.9 (seeded) | 42 | 131 | 5 ms | 0.4 s | ~65 MB |

Importing this module takes milliseconds (lingua is imported on first use); the model is built
once per process by `detector()`, which the NLU component calls when the assistant loads.
"""

import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

from kb.text import elided_articles, letter_words, normalize, strip_accents, tokenize, unify_apostrophes

ENGLISH, FRENCH, OTHER, UNKNOWN = "en", "fr", "other", "unknown"
SUPPORTED = (ENGLISH, FRENCH)
DEFAULT_LANGUAGE = ENGLISH

# English against French: the lead is the model's probability of English minus that of French,
# plus CUE_WEIGHT for each English cue and minus it for each French one. It must reach
# MIN_MARGIN, or MODEL_ALONE_MARGIN when the cues are even. Tuned on the training examples of
# data/nlu (tests/test_kb_language.py): none wrong, about 8 % "unknown", all of them short.
CUE_WEIGHT = 0.4
MIN_MARGIN = 0.3
MODEL_ALONE_MARGIN = 0.5
# "other" without more other cues than English and French ones needs the model this sure.
OTHER_MIN_PROBABILITY = 0.8
# With no cue, the model must give English and French together at least this much.
MIN_SUPPORTED_PROBABILITY = 0.3
# Fewer words than this (after the names are cut out): the cues alone decide.
MIN_WORDS_FOR_MODEL = 2

# The lingua languages, by their ISO 639-1 code; all but en and fr count as "other".
MODEL_LANGUAGES = ("en", "fr", "de", "nl", "es", "it")

# Cue words, compared without case or accents ("pole" is "pôle"). Only words that are common in
# one group and rare in the others: "a", "on", "son", "me", "plus", "es" are in none.
FRENCH_WORDS = frozenset(
    """
    le la les des du au aux un une est sont suis etes sommes ai avez avons ont etait
    quoi quel quels quelle quelles qui que qu quand comment combien pourquoi ou
    c ce cet cette ces ca ceci cela celui celle ceux j je tu il elle nous vous ils elles moi toi lui
    mon ma mes ta tes sa ses notre nos votre vos leur leurs
    et mais donc avec pour dans sur sous chez par pas ne rien jamais aussi tres trop peu beaucoup
    tout tous toute toutes autre autres quelques chaque encore deja ici voila
    de d l en y
    svp stp merci mercis bcp bonjour bonsoir bjr salut slt coucou revoir aurevoir tchao allo oui non ouais bof
    bien bonne nuit mdr recommencer depuis entre contre comparer comparez comparaison siege
    parle parlez parler parles dis dites dire donne donnez montre montrez explique expliquez
    presente presentez cherche cherchez voudrais voudrait veux voulez peux pouvez peut puis sais savez
    fait faire font existe existent liste lister connais connaissez aimerais besoin
    entreprise entreprises societe societes pole poles secteur secteurs domaine domaines
    wallonie wallon wallons wallonne wallonnes belgique bruxelles francais anglais
    infos informations renseignements renseignement exemple projet projets aide aidez
    """.split()
)
ENGLISH_WORDS = frozenset(
    """
    the what whats which who whom whose where when why how
    is are were be been being am do does did done don doesn didn isn aren can cannot could
    would should will shall may might must have has had having get got
    i my mine you your yours it its they them their we our us he she his her him this that these
    those there here of and or with for from to at by about into than then also too very just only
    any some many much more most all each every other not
    please pls thanks thank thx cheers hello hi hey hiya howdy greetings morning evening bye goodbye farewell
    yes yeah yep nope sorry website homepage members history purpose
    tell show give list find want need know like work works working looking look explain describe
    company companies business businesses firm firms sector sectors field fields area
    walloon wallonia belgium brussels french english information example project projects help
    """.split()
)
# German, Dutch, Spanish, Italian and Portuguese words that are neither English nor French
# (not "des", "was", "es", "que", "il", which are).
OTHER_WORDS = frozenset(
    """
    der die das den dem und ist sind gibt welche welcher welches wie wo ich nicht ein eine
    einen mit fur auf von zu bitte danke hallo ja nein uber konnen kann sie wir ihr
    wallonien belgien unternehmen guten morgen goedemorgen goedemiddag obrigado obrigada quais voce sao
    het een wat welke zijn hoe ik niet met voor van op dank bedankt alsjeblieft alstublieft hoi
    waar bedrijven welk
    el los las hay cual cuales esta estan por para gracias hola una del muy como donde empresas valonia
    che sono gli della delle quali cosa grazie buongiorno perche vallonia aziende
    """.split()
)
assert not (FRENCH_WORDS & ENGLISH_WORDS), FRENCH_WORDS & ENGLISH_WORDS
assert not (OTHER_WORDS & (FRENCH_WORDS | ENGLISH_WORDS)), OTHER_WORDS & (FRENCH_WORDS | ENGLISH_WORDS)

# Letters: French accents count for French; other non-ASCII letters of the Latin script
# ("ä", "ß", "ñ", "ã", "ą") for "other"; "ë", "ÿ", "æ" for neither ("Noël", "België").
_FRENCH_LETTERS = re.compile(r"[éèêàâçùûôîïœ]", re.IGNORECASE)
_NEUTRAL_LETTERS = frozenset("ëÿæ")
_INVERTED_MARKS = re.compile(r"[¿¡]")
# The patterns below read text whose apostrophes `kb.text.unify_apostrophes` made "'".
_ITALIAN_ELISION = re.compile(r"\b(?:un|dell|nell|all|dall|sull|quest|quell)'(?=[^\W\d_])", re.IGNORECASE)
# Words that are no French cue in English company: "non-profit", "no comment", "a comment".
_NOT_FRENCH = re.compile(r"\bnon-(?=[^\W\d_])|\b(a|an|the|no|any|my|your|this|that|his|her|our|their)\s+comment\b", re.IGNORECASE)
# "what's", "don't", "I'm", "you're", "we've", "I'll", "I'd": an English contraction.
_ENGLISH_CONTRACTION = re.compile(r"(?<=[^\W\d_]{2})'(?:s|t|m|re|ve|ll|d)\b|\bi'(?:m|d|ll|ve)\b", re.IGNORECASE)

# Places of Wallonia and Brussels, cut out like the knowledge's names: "clusters near Liège" is
# English (the model would rule English out for its "è" alone).
PLACE_NAMES = (
    "Liège", "Namur", "Mons", "Charleroi", "Wavre", "Nivelles", "Tournai", "Arlon", "Gembloux", "Gosselies", "Seraing",
    "Verviers", "Herstal", "Louvain-la-Neuve", "Mont-Saint-Guibert", "La Louvière", "Marche-en-Famenne",
    "Libramont", "Ottignies", "Mouscron", "Eupen", "Bastogne", "Dinant", "Huy", "Waterloo",
)

class NameFinder:
    """Anything with `find(text)` returning matches with `start` and `end` (a `NameMatcher`)."""

    def find(self, text: str) -> Sequence[Any]:  # pragma: no cover - a protocol
        raise NotImplementedError


Names = Union[NameFinder, Iterable[str], None]


# --- the model ---------------------------------------------------------------------------------

_detector_lock = threading.Lock()
_detector: Any = None


def detector() -> Any:
    """The lingua detector, built on first use from the models inside the installed package."""
    global _detector
    if _detector is None:
        with _detector_lock:
            if _detector is None:
                from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

                languages = [
                    Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper())) for code in MODEL_LANGUAGES
                ]
                _detector = LanguageDetectorBuilder.from_languages(*languages).with_preloaded_language_models().build()
    return _detector


def model_probabilities(text: str) -> Dict[str, float]:
    """The model's probability for "en", "fr" and "other" (its likeliest other language).

    The model reads the text without accents: lingua rules English out for a single "é", and
    French written without accents ("c est quoi") must be read anyway; accents are a cue."""
    scores = {ENGLISH: 0.0, FRENCH: 0.0, OTHER: 0.0}
    for value in detector().compute_language_confidence_values(strip_accents(text)):
        code = value.language.iso_code_639_1.name.lower()
        group = code if code in SUPPORTED else OTHER
        scores[group] = max(scores[group], value.value)
    return scores


# --- names -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Span:
    start: int
    end: int


class _ExactFinder:
    """Finds the given names, as whole words, whatever their case and accents ("liege")."""

    def __init__(self, names: Iterable[str]) -> None:
        self._names = {tuple(t.norm for t in tokenize(name)) for name in names}
        self._names.discard(())
        self._longest = max((len(n) for n in self._names), default=0)

    def find(self, text: str) -> List[_Span]:
        tokens = tokenize(text)
        found, i = [], 0
        while i < len(tokens):
            for size in range(min(self._longest, len(tokens) - i), 0, -1):
                if tuple(t.norm for t in tokens[i:i + size]) in self._names:
                    found.append(_Span(tokens[i].start, tokens[i + size - 1].end))
                    i += size
                    break
            else:
                i += 1
        return found


@lru_cache(maxsize=16)
def _finder_for(names: Tuple[str, ...]) -> _ExactFinder:
    return _ExactFinder(names)


def _finders(names: Names) -> List[Any]:
    finders: List[Any] = [_finder_for(PLACE_NAMES)]
    if names is None:
        return finders
    if hasattr(names, "find"):
        return [names, *finders]
    strings = tuple(sorted({n for n in names if isinstance(n, str) and n.strip()}))  # type: ignore[union-attr]
    return [_finder_for(strings), *finders] if strings else finders


def without_names(text: str, names: Names = ()) -> str:
    """`text` with the span of every known name (and of the places of `PLACE_NAMES`) replaced
    by a space: "What is Cluster Photonique?" -> "What is  ?"."""
    spans = sorted(((m.start, m.end) for finder in _finders(names) for m in finder.find(text)))
    pieces, last = [], 0
    for start, end in spans:
        if start < last:
            continue
        pieces.append(text[last:start])
        pieces.append(" ")
        last = end
    pieces.append(text[last:])
    return "".join(pieces)


# --- detection ---------------------------------------------------------------------------------


def _latin(letter: str) -> bool:
    return letter.isascii() or "LATIN" in unicodedata.name(letter, "")


def cues(text: str) -> Dict[str, int]:
    """How many cue words (and marks) of each group `text` holds."""
    counts = {ENGLISH: 0, FRENCH: 0, OTHER: 0}
    text = unify_apostrophes(text)
    for word in letter_words(_NOT_FRENCH.sub(lambda m: f" {m.group(1) or ''} ", text)):
        if word in FRENCH_WORDS:
            counts[FRENCH] += 1
        elif word in ENGLISH_WORDS:
            counts[ENGLISH] += 1
        elif word in OTHER_WORDS:
            counts[OTHER] += 1
    letters = {ch for ch in text.casefold() if ch.isalpha() and not ch.isascii()}
    counts[FRENCH] += bool(_FRENCH_LETTERS.search(text)) + bool(elided_articles(text))
    counts[ENGLISH] += bool(_ENGLISH_CONTRACTION.search(text))
    other_letters = {ch for ch in letters if not _FRENCH_LETTERS.match(ch) and ch not in _NEUTRAL_LETTERS}
    counts[OTHER] += bool(other_letters) + bool(_INVERTED_MARKS.search(text)) + bool(_ITALIAN_ELISION.search(text))
    return counts


def _mostly_other_script(text: str) -> bool:
    """Cyrillic, Greek, Arabic, Chinese…: a script neither English nor French is written in."""
    letters = [ch for ch in text if ch.isalpha()]
    return len(letters) >= 2 and sum(not _latin(ch) for ch in letters) * 2 > len(letters)


def explain(text: str, names: Names = ()) -> Dict[str, Any]:
    """The decision and every step that led to it, for debugging and for the tests."""
    rest = without_names(text or "", names)
    found = letter_words(rest)
    counts = cues(rest)
    probabilities: Dict[str, float] = {}
    language, reason = _decide(rest, found, counts, probabilities)
    return {
        "language": language,
        "reason": reason,
        "text_without_names": rest,
        "words": found,
        "cues": counts,
        "model": probabilities,
    }


def _decide(rest: str, found: List[str], counts: Dict[str, int], probabilities: Dict[str, float]) -> Tuple[str, str]:
    if rest.lstrip().startswith("/"):
        return UNKNOWN, "an intent payload (a button), not words"
    if not found:
        return UNKNOWN, "no word once the names are cut out"
    if _mostly_other_script(rest):
        return OTHER, "written in another script"
    if _INVERTED_MARKS.search(rest):
        return OTHER, "Spanish question or exclamation marks"
    if len(found) < MIN_WORDS_FOR_MODEL:
        hit = [lang for lang, count in counts.items() if count]
        if len(hit) == 1:
            return hit[0], "a single word, and a cue of that language"
        return UNKNOWN, "a single word, and no single cue"
    probabilities.update(model_probabilities(rest))
    en, fr, other = (probabilities[k] for k in (ENGLISH, FRENCH, OTHER))
    cue_en, cue_fr, cue_other = (counts[k] for k in (ENGLISH, FRENCH, OTHER))
    # "other" needs its own evidence: more other cues than English and French ones, or a sure
    # model and no more English and French cues than other ones ("Kunt u mij helpen?"). Short English or French is often
    # the model's German or Italian, and then it must not be taken for them.
    if other > max(en, fr) and (cue_other > cue_en + cue_fr or (other >= OTHER_MIN_PROBABILITY and cue_en + cue_fr <= cue_other)):
        return OTHER, "the model and other cues point to another language"
    if cue_other > cue_en + cue_fr:
        return UNKNOWN, "other cues, but the model is unsure"
    if en + fr < MIN_SUPPORTED_PROBABILITY and cue_en + cue_fr <= 1:
        return UNKNOWN, "the model sees neither English nor French, and at most one cue"
    # English against French: the model's difference, plus the cues.
    lead = (en - fr) + CUE_WEIGHT * (cue_en - cue_fr)
    margin = MIN_MARGIN if cue_en != cue_fr else MODEL_ALONE_MARGIN
    if lead >= margin:
        return ENGLISH, "English leads"
    if lead <= -margin:
        return FRENCH, "French leads"
    return UNKNOWN, "too close to call"


def detect_language(text: str, names: Names = ()) -> str:
    """ "en", "fr", "other" or "unknown" (too short or too mixed to tell).

    `names`: a `kb.names.NameMatcher` (or anything with its `find`), or the names themselves;
    their spans are cut out first, so a French name does not make an English message French."""
    return explain(text, names)["language"]


# --- explicit requests -------------------------------------------------------------------------

_LANGUAGE_WORDS = {
    FRENCH: r"(?:french|francais|francaise|fr)",
    ENGLISH: r"(?:english|anglais|anglaise|eng)",
}
_VERBS = (
    r"(?:speak|speaking|talk|talking|answer|reply|respond|write|switch|change|continue|go|use|tell|explain|"
    r"parle|parlez|parler|parles|parlons|reponds|repondez|repondre|ecris|ecrivez|ecrire|passe|passez|passer|"
    r"passons|continuer|continuez|continuons|changer|changez|bascule|basculez|utilise|utilisez|dis|dites|explique|expliquez)"
)
_POLITE = r"(?:please|pls|plz|svp|stp|s il vous plait|s il te plait|merci|thanks|thank you)"
# Words that may stand around the language in a request that is nothing else ("English please").
_FILLER = frozenset(
    """
    please pls plz svp stp s il vous te plait merci thanks thank ok okay can could would you i we
    want like prefer je voudrais veux prefere aimerais on peut pouvez peux tu vous
    now maintenant only seulement uniquement the le la l en in to au a version language langue
    """.split()
)
_NEGATION = re.compile(r"\b(?:don t|dont|do not|doesn t|cannot|can t|cant|not|ne|n|pas)\b")


def explicit_language_request(text: str) -> Optional[str]:
    """ "fr" or "en" when the message asks for that language ("en français svp", "can you speak
    English?", "switch to French", "english"); None for any other message, a French question
    included. "I don't speak French" asks for English, "je ne parle pas anglais" for French."""
    if (text or "").lstrip().startswith("/"):
        return None  # an intent payload (a button)
    # Elided articles kept: "à l'anglais", "s'il vous plaît" are read with them.
    norm = normalize(text or "", keep_elisions=True)
    tokens = norm.split()
    if tokens in (["en"], ["fr"]):
        return ENGLISH if tokens == ["en"] else FRENCH
    for language, word in _LANGUAGE_WORDS.items():
        # "speak English", "parlez-vous français", "switch to French", "réponds en anglais".
        verb = re.search(rf"\b{_VERBS}\b(?:\s+\w+){{0,4}}?\s+(?:in\s+|to\s+|en\s+|au\s+|a\s+l\s+|l\s+)?{word}\b", norm)
        if verb:
            around = norm[: verb.start()].split()[-3:] + norm[verb.start(): verb.end()].split()
            # "I don't speak French", "je ne parle pas anglais": the other language.
            if _NEGATION.search(" ".join(around)):
                return ENGLISH if language == FRENCH else FRENCH
            return language
        # "in French please", "en français svp", "please answer in English".
        if re.search(rf"\b(?:in|en)\s+{word}\s+{_POLITE}\b|\b{_POLITE}\b.*\b(?:in|en)\s+{word}\b", norm):
            return language
        # Little more than the language: "english", "Français ?", "French please", "en anglais".
        if re.search(rf"\b{word}\b", norm) and all(t in _FILLER or re.fullmatch(word, t) for t in tokens):
            return language
    return None


# --- which language to answer in -------------------------------------------------------------


def supported(value: Any) -> Optional[str]:
    """ "en" or "fr" for a language code or tag ("fr", "FR", "fr-BE", "en_US", "english"), else None."""
    if not isinstance(value, str):
        return None
    primary = re.split(r"[-_]", value.strip().casefold())[0]
    primary = {"english": ENGLISH, "anglais": ENGLISH, "french": FRENCH, "francais": FRENCH, "français": FRENCH}.get(
        primary, primary
    )
    return primary if primary in SUPPORTED else None


def choose_language(
    message_language: Optional[str],
    explicit_request: Optional[str],
    sticky_language: Optional[str],
    current_language: Optional[str],
    metadata_language: Optional[str],
) -> Tuple[str, Optional[str]]:
    """(the language to answer in, the new sticky language), in this order of precedence:

    1. the user's explicit request ("en français svp"), which then sticks;
    2. the language an earlier request made sticky, until the user asks otherwise;
    3. the language of the message, when it is clearly "en" or "fr";
    4. the conversation's current language;
    5. the language the web page passes as metadata ("fr-BE" counts as "fr");
    6. English."""
    requested = supported(explicit_request)
    if requested:
        return requested, requested
    sticky = supported(sticky_language)
    if sticky:
        return sticky, sticky
    for candidate in (message_language, current_language, metadata_language):
        language = supported(candidate)
        if language:
            return language, None
    return DEFAULT_LANGUAGE, None


__all__ = [
    "DEFAULT_LANGUAGE",
    "ENGLISH",
    "FRENCH",
    "OTHER",
    "SUPPORTED",
    "UNKNOWN",
    "choose_language",
    "cues",
    "detect_language",
    "detector",
    "explain",
    "explicit_language_request",
    "supported",
    "without_names",
]
