"""Text normalisation (kb/text.py): case, accents, apostrophes, French elisions, plurals, tokens
with their spans, and input that is empty, odd or very long."""

import re
from pathlib import Path

import pytest

from kb.text import (
    compound_words,
    elided_articles,
    fold,
    letter_words,
    lower_without_accents,
    normalize,
    split_compound,
    strip_accents,
    tokenize,
    unify_apostrophes,
)


@pytest.mark.parametrize("apostrophe", list("'’‘`´ʼ"))
def test_every_apostrophe_is_read_as_one(apostrophe):
    assert unify_apostrophes(f"l{apostrophe}avion") == "l'avion"
    assert normalize(f"L{apostrophe}Aéronautique") == "aeronautique"
    assert normalize(f"qu{apostrophe}est-ce que c{apostrophe}est") == "est ce que est"


@pytest.mark.parametrize("article", ["l", "d", "qu", "j", "n", "s", "c", "m", "t", "jusqu", "lorsqu", "puisqu"])
def test_french_elisions_are_dropped(article):
    assert normalize(f"{article}'avion") == "avion"
    assert normalize(f"{article.upper()}’AVION") == "avion"
    assert elided_articles(f"{article}’avion") == [f"{article}'"]


def test_elided_articles_are_kept_on_request():
    assert normalize("C’est l’heure, s’il vous plaît", keep_elisions=True) == "c est l heure s il vous plait"
    assert letter_words("C'est 4x4") == ["c", "est", "x"]


@pytest.mark.parametrize("text, expected", [
    ("what's BioWin?", "what s biowin"),  # an English contraction is no elision
    ("don’t", "don t"),
    ("I'd like it", "i d like it"),
    ("aujourd'hui", "aujourd hui"),  # an apostrophe inside a word: no article before it
    ("l'", "l"),  # nothing follows
    ("d' accord", "d accord"),
    ("rock and roll", "rock and roll"),
])
def test_english_and_words_that_are_no_elision_keep_their_letters(text, expected):
    assert normalize(text) == expected
    assert elided_articles(text) == []


def test_accents_and_case_are_folded():
    assert strip_accents("Liège, Pôle, Œuvre, Ça, naïve") == "Liege, Pole, Œuvre, Ca, naive"
    assert lower_without_accents("ÉCOLE Straße") == "ecole strasse"
    assert normalize("Électricité ÀÂÇÈÉÊËÎÏÔÙÛÜŸ") == "electricite aaceeeeiiouuuy"
    # Typed decomposed (a letter then a combining accent): one word all the same.
    assert normalize("e\u0301cole") == "ecole"


def test_punctuation_separates_and_plus_stays():
    assert normalize("Val+, bio_win / Cap2020!") == "val+ bio win cap2020"
    assert normalize("e-commerce") == "e commerce"


def test_tokens_keep_their_spans_in_the_text_as_given():
    text = "C’est quoi l’Aéronautique ?"
    found = tokenize(text)
    assert [t.norm for t in found] == ["est", "quoi", "aeronautique"]
    assert [text[t.start:t.end] for t in found] == ["est", "quoi", "Aéronautique"]


def test_compound_words_are_whole_and_as_typed():
    text = "L’éco-construction d'aujourd’hui, IT"
    assert [w for w, _, _ in compound_words(text)] == ["éco-construction", "aujourd’hui", "IT"]
    assert all(text[start:end] == word for word, start, end in compound_words(text))
    assert split_compound("aujourd’hui") == ["aujourd", "hui"]
    assert split_compound("éco-construction") == ["éco", "construction"]


@pytest.mark.parametrize("plural, singular", [
    ("clusters", "cluster"), ("reseaux", "reseau"), ("poles", "pole"), ("entreprises", "entreprise"),
    ("business", "business"), ("gas", "gas"), ("bus", "bus"), ("aux", "aux"),
])
def test_plurals_fold_to_the_singular(plural, singular):
    assert fold(plural) == singular
    assert fold(singular) == singular


@pytest.mark.parametrize("text", ["", "   ", "\n\t", "👍", "🚀🚀", "?!…", "''", "’", "</>"])
def test_empty_or_wordless_input_gives_no_token(text):
    assert normalize(text) == normalize(text, keep_elisions=True) == ""
    assert tokenize(text) == []
    assert letter_words(text) == []
    assert compound_words(text) == []


def test_emoji_and_markup_are_separators():
    assert normalize("<b>BioWin</b> 👍 rocks") == "b biowin b rocks"
    assert normalize("**Skywin**_ [link](https://x.be)") == "skywin link https x be"
    assert normalize("l’🚀avion") == "l avion"  # no word right after the apostrophe: no elision
    assert normalize("d’👍") == "d"


def test_very_long_input_is_read_whole():
    words = "L’entreprise d’Aéronautique fabrique des pièces jusqu’à Liège " * 20000  # ~1.2 MB
    found = tokenize(words)
    assert len(found) == 7 * 20000
    assert found[-1].norm == "liege"
    assert normalize("a" * 1_000_000) == "a" * 1_000_000
    assert normalize("x'" * 200_000) == " ".join(["x"] * 200_000)
    assert normalize("l'" * 200_000) == "l"  # each article elides the next; the last one has no word after it


def test_no_other_module_normalises_text_on_its_own():
    """One home: no other module of kb/, components/ or actions/ decomposes accents, lists the
    apostrophes or the French elided articles itself."""
    root = Path(__file__).resolve().parent.parent
    # Unicode decomposition, a character class of apostrophes ("['’]"), a list of elided articles.
    own = [r"unicodedata\.normalize\(", r"’\]", r"lorsqu", r"\|qu[|)]"]
    for folder in ("kb", "components", "actions"):
        for module in sorted((root / folder).rglob("*.py")):
            if module == root / "kb" / "text.py":
                continue
            source = module.read_text(encoding="utf-8")
            for pattern in own:
                assert not re.search(pattern, source), (module.relative_to(root), pattern)
