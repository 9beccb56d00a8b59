"""The words a reason quotes: the passage of a page text where the user's terms are, and the
user's own words for them.

A reason names only what the page says or what the user wrote: a passage is cut from the page
text at its clause marks around the matched words (never rewritten), and the user's words are
taken from their message as typed (never a keyword of the knowledge base that shares a stem)."""

import re
from typing import Callable, List, Optional, Sequence, Tuple

from kb.text import compound_words, split_compound

MAX_QUOTE_WORDS = 16  # a longer text is cut to the clause of the matched words
MIN_CLAUSE_WORDS = 3  # a shorter clause is quoted with the one after it (unless it is a quotation)
WORDS_BEFORE = 5  # a clause still too long: this many words before the first matched one
USER_GAP_WORDS = 1  # the user's matched words this close together are quoted as one phrase
ELLIPSIS = "…"
# Where a clause ends inside a page text (a dash between spaces, not the hyphen of a compound).
_CLAUSE_MARK = re.compile(r"[.;:!?,()\[\]]|\s[–—-]|[–—-]\s")
_QUOTATION = re.compile(r"^\s*([“«][^“”«»]*[”»])\s*$")
_EDGE = " ,;:.–—-("


def _forms(word: str) -> List[str]:
    """A word as typed, lower-cased: whole, its compound parts joined, and each part."""
    parts = split_compound(word.casefold())
    return [word.casefold(), "".join(parts), *parts]


def _word_spans(text: str) -> List[Tuple[int, int]]:
    return [(start, end) for _, start, end in compound_words(text)]


def _clause_bounds(text: str) -> List[int]:
    return sorted({0, len(text), *(m.start() for m in _CLAUSE_MARK.finditer(text)),
                   *(m.end() for m in _CLAUSE_MARK.finditer(text))})


def passage(text: str, matches: Callable[[str], bool], from_start: bool = False) -> Optional[str]:
    """The passage of `text` to quote for the words `matches` accepts (a word as typed, a part of a
    compound too, lower-cased): the whole text when short, else the clause of the first such word (with the
    next when it is a word or two), else the words around it; "…" where the text was cut. None
    when no word matches. `from_start`: from the text's start (a list of members keeps who they
    are: "the plastics processors active in the injection moulding…")."""
    spans = _word_spans(text)
    hits = [i for i, (start, end) in enumerate(spans)
            if any(matches(part) for part in _forms(text[start:end]))]
    if not hits:
        return None
    if len(spans) <= MAX_QUOTE_WORDS:
        return text.strip().rstrip(".")
    first_start, first_end = spans[hits[0]]
    bounds = _clause_bounds(text)
    start = max(b for b in bounds if b <= first_start)
    end = min(b for b in bounds if b >= first_end)

    def inside(a: int, b: int) -> List[int]:
        return [i for i, (s, e) in enumerate(spans) if s >= a and e <= b]

    if from_start:
        start = 0
    for bound in [b for b in bounds if b > end]:
        if len(inside(start, end)) >= MIN_CLAUSE_WORDS or _QUOTATION.match(text[start:end]):
            break
        end = bound
    words = inside(start, end)
    if len(words) > MAX_QUOTE_WORDS:
        first = words[0] if from_start else max(words[0], hits[0] - WORDS_BEFORE)
        words = words[words.index(first):][:MAX_QUOTE_WORDS]
        start, end = spans[words[0]][0], spans[words[-1]][1]
    segment = text[start:end]
    start += len(segment) - len(segment.lstrip(_EDGE))
    end -= len(segment) - len(segment.rstrip(_EDGE))
    cut_before = text[:start].strip(_EDGE) != ""
    cut_after = text[end:].strip(_EDGE) != ""
    return (ELLIPSIS if cut_before else "") + text[start:end] + (ELLIPSIS if cut_after else "")


def user_phrases(activity: str, terms: Sequence[str]) -> Tuple[str, ...]:
    """The user's words for `terms` (their matched words, lower-cased), as they typed them: words
    close together in the message as one phrase ("landing gears", "livraison de colis")."""
    lowered = activity.casefold()
    spans = []
    for term in terms:
        found = re.search(rf"(?<!\w){re.escape(term)}(?!\w)", lowered)
        if found:
            spans.append((found.start(), found.end()))
    if not spans:
        return tuple(terms)
    spans.sort()
    phrases: List[Tuple[int, int]] = [spans[0]]
    for start, end in spans[1:]:
        last_start, last_end = phrases[-1]
        gap = activity[last_end:start]
        if len(gap.split()) <= USER_GAP_WORDS and not _CLAUSE_MARK.search(gap):
            phrases[-1] = (last_start, max(end, last_end))
        elif start >= last_end:
            phrases.append((start, end))
    return tuple(dict.fromkeys(_uncapitalised(activity[s:e]) for s, e in phrases))


def _uncapitalised(phrase: str) -> str:
    """"Fonderie" -> "fonderie" (a capital that starts the message); "PVC", "LED" stay."""
    first = phrase.split()[0]
    return phrase[0].lower() + phrase[1:] if first[:1].isupper() and first[1:].islower() else phrase
