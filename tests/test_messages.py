"""Every sentence the assistant says exists in English and French, with the same placeholders,
and the French follows French typography (a space before ? ! : ;)."""

import re
import string
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
MESSAGES = yaml.safe_load((ROOT / "actions" / "messages.yml").read_text(encoding="utf-8"))
DOMAIN = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
# Said in both languages at once, to someone whose language is not known.
BILINGUAL_RESPONSES = {"utter_languages_supported"}
# French puts the list's label first, capitalised ("Axes de Skywin"), and elides "de" ("d'Infopole"):
# render passes both forms.
# Only names and labels differ: French elides, contracts and adds the article ("{of_name}",
# "{to_name}", "{the_name}"), and puts a list's label first, capitalised ("{label_cap}").
NAME_FORMS = {"name": "name", "of_name": "name", "to_name": "name", "the_name": "name", "The_name": "name",
              "label": "label", "of_label": "label", "label_cap": "label", "said": "said", "of_said": "said"}


def placeholders(template: str) -> set:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def french_typography_errors(text: str) -> list:
    text = re.sub(r"https?://\S+|\{[^}]*\}", "", text)  # URLs and placeholders
    return [m.group() for m in re.finditer(r"\S[?!:;]", text) if not m.group().startswith(("«", "("))]


@pytest.mark.parametrize("key", sorted(MESSAGES))
def test_every_message_in_both_languages(key):
    entry = MESSAGES[key]
    assert set(entry) == {"en", "fr"}, key
    if isinstance(entry["en"], str):
        def canonical(template: str) -> set:
            return {NAME_FORMS.get(name, name) for name in placeholders(template)}

        assert canonical(entry["en"]) == canonical(entry["fr"]), key
        assert not french_typography_errors(entry["fr"]), (key, french_typography_errors(entry["fr"]))
    else:  # a table of labels
        assert set(entry["en"]) == set(entry["fr"]), key


@pytest.mark.parametrize("name", sorted(DOMAIN["responses"]))
def test_every_response_in_both_languages(name):
    variants = DOMAIN["responses"][name]
    if name in BILINGUAL_RESPONSES:
        return
    french = [v for v in variants if v.get("condition") == [{"type": "slot", "name": "language", "value": "fr"}]]
    default = [v for v in variants if not v.get("condition")]
    assert len(french) == 1 and len(default) == 1, name
    assert not french_typography_errors(french[0]["text"]), french_typography_errors(french[0]["text"])
    assert len(french[0].get("buttons", [])) == len(default[0].get("buttons", []))
    assert [b["payload"] for b in french[0].get("buttons", [])] == [b["payload"] for b in default[0].get("buttons", [])]


def test_the_bilingual_answer_is_in_both_languages():
    text = DOMAIN["responses"]["utter_languages_supported"][0]["text"]
    assert "English" in text and "français" in text


# "de Infopole", "à Cluster Photonique", "pas de axes": what French never says ("à Eco-building" is right).
_UNELIDED = re.compile(r"\b(?:de|le) (?=[AEIOUYÉÈaeiouyéèh])|\b(?:de|à) (?=Cluster )")
# "Cluster Photonique" in a French sentence takes its article: "le Cluster Photonique" (a heading,
# a quotation or a list item names it bare).
_BARE_CLUSTER = re.compile(r"(?<!\ble )(?<!\bLe )(?<!\bdu )(?<!\bau )(?<!\*\*)(?<!« )(?<!\. )(?<!- )(?<!^)Cluster ")


@pytest.mark.parametrize("name", ["Infopole Cluster TIC", "Skywin", "Cluster Photonique", "Eco-building"])
def test_french_templates_elide_and_contract_names(name):
    from actions.render import say

    for key, entry in MESSAGES.items():
        if not isinstance(entry.get("fr"), str) or not placeholders(entry["fr"]) & set(NAME_FORMS):
            continue
        values = {p: "x" for p in placeholders(entry["fr"])} | {"name": name, "label": "axes"}
        for derived in ("of_name", "to_name", "the_name", "The_name", "of_label", "label_cap"):
            values.pop(derived, None)
        values["label_cap"] = "Axes"
        text = say(key, "fr", **values)
        assert not _UNELIDED.search(text), (key, text)
        if name.startswith("Cluster "):
            assert not _BARE_CLUSTER.search(text), (key, text)
