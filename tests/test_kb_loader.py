"""Loading and validating knowledge/: the real files load, and each kind of broken edit stops
with a message naming the file, the entry and the problem."""

from pathlib import Path

import pytest
import yaml

from kb import KnowledgeError, load_knowledge
from kb.loader import load_yaml


def test_real_knowledge_loads(knowledge):
    assert len(knowledge.clusters) == 14
    assert [s.id for s in knowledge.sectors] == [
        "mobility-transport", "environment-sustainable-development", "food-health", "transversal-technologies",
    ]
    assert {c.type for c in knowledge.clusters} == {"competitiveness", "business"}
    assert [c.order for c in knowledge.clusters] == list(range(1, 15))


def _edit(path, change):
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def _error(directory) -> KnowledgeError:
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(directory)
    return caught.value


def test_missing_field_names_file_entry_and_field(knowledge_copy):
    path = knowledge_copy / "clusters" / "biowin.yml"
    _edit(path, lambda d: d.pop("summary"))
    error = _error(knowledge_copy)
    assert error.path == path and error.entry == "biowin" and "missing field 'summary'" in error.problem
    assert "biowin.yml" in str(error) and "'biowin'" in str(error)


def test_missing_translation_is_refused(knowledge_copy):
    path = knowledge_copy / "clusters" / "twist.yml"
    _edit(path, lambda d: d["description"].pop("fr"))
    error = _error(knowledge_copy)
    assert error.entry == "twist" and "'description' lacks its 'fr' text" in error.problem


def test_unknown_sector_is_refused(knowledge_copy):
    path = knowledge_copy / "clusters" / "skywin.yml"
    _edit(path, lambda d: d.update(sector="space"))
    error = _error(knowledge_copy)
    assert error.path == path and error.entry == "skywin"
    assert "unknown sector 'space'" in error.problem


def test_unknown_type_is_refused(knowledge_copy):
    _edit(knowledge_copy / "clusters" / "tweed.yml", lambda d: d.update(type="pole"))
    assert "unknown type 'pole'" in _error(knowledge_copy).problem


def test_duplicate_cluster_name_is_refused(knowledge_copy):
    copy = knowledge_copy / "clusters" / "skywin-copy.yml"
    copy.write_text((knowledge_copy / "clusters" / "skywin.yml").read_text(encoding="utf-8"), encoding="utf-8")
    _edit(copy, lambda d: d.update(id="skywin-copy"))
    error = _error(knowledge_copy)
    assert "duplicate cluster name 'Skywin'" in error.problem


def test_alias_shared_by_two_clusters_is_refused(knowledge_copy):
    _edit(knowledge_copy / "clusters" / "mecatech.yml", lambda d: d["aliases"].append("Sky Win"))
    error = _error(knowledge_copy)
    assert "already names cluster" in error.problem and {error.entry, error.problem.split("'")[-2]} == {"skywin", "mecatech"}


def test_id_must_match_file_name(knowledge_copy):
    _edit(knowledge_copy / "clusters" / "val-plus.yml", lambda d: d.update(id="valplus"))
    assert "differs from the file name 'val-plus'" in _error(knowledge_copy).problem


def test_malformed_yaml_names_file_and_line(knowledge_copy):
    path = knowledge_copy / "clusters" / "greenwin.yml"
    path.write_text("id: greenwin\nname: [GreenWin\n", encoding="utf-8")
    error = _error(knowledge_copy)
    assert error.path == path and error.entry.startswith("line ") and "malformed YAML" in error.problem


def test_text_of_wrong_kind_is_refused(knowledge_copy):
    _edit(knowledge_copy / "clusters" / "biowin.yml", lambda d: d["strategy"]["items"].append({"en": ["a"], "fr": "b"}))
    error = _error(knowledge_copy)
    assert error.entry == "biowin" and "lacks its 'en' text" in error.problem


def test_supplementary_fact_needs_its_date(knowledge_copy):
    _edit(knowledge_copy / "clusters" / "skywin.yml", lambda d: d["details"]["website"].pop("as_of"))
    assert "has a source but no 'as_of' date" in _error(knowledge_copy).problem


def test_fact_naming_an_unknown_source_is_refused(knowledge_copy):
    path = knowledge_copy / "clusters" / "skywin.yml"
    _edit(path, lambda d: d["details"]["website"].update(source="supplementary-facts.md (skywin.be)"))
    error = _error(knowledge_copy)
    assert error.path == path and error.entry == "skywin"
    assert "'details.website' names unknown source 'supplementary-facts.md (skywin.be)'" in error.problem
    assert "skywin.yml" in str(error)


def test_unknown_source_in_a_list_of_a_policy_paragraph_is_refused(knowledge_copy):
    path = knowledge_copy / "policy.yml"
    _edit(path, lambda d: d["topics"]["fees"]["paragraphs"][0].update(source=["greenwin-membership", "nowhere"]))
    error = _error(knowledge_copy)
    assert error.path == path and error.entry == "topics.fees"
    assert "'paragraphs[0]' names unknown source 'nowhere'" in error.problem


def test_source_ids_resolve_to_names_and_links(knowledge):
    website = knowledge.cluster("skywin").website
    assert [(s.id, s.name.en, s.url) for s in website.sources] == [("skywin", "skywin.be", "https://www.skywin.be")]
    founded = knowledge.cluster("skywin").founded
    assert [s.id for s in founded.sources] == ["uwe", "awex", "aca-secretariat"]
    assert all(s.url is None for s in founded.sources)  # no address is known for them: none is made up


def test_source_url_must_be_an_address(knowledge_copy):
    path = knowledge_copy / "sources.yml"
    _edit(path, lambda d: d["supplementary"]["skywin"].update(url="skywin.be"))
    error = _error(knowledge_copy)
    assert error.path == path and error.entry == "supplementary.skywin" and "must start with https://" in error.problem


def test_as_of_must_be_a_month(knowledge_copy):
    _edit(knowledge_copy / "clusters" / "skywin.yml", lambda d: d["details"]["website"].update(as_of="Nov 2026"))
    assert "'details.website.as_of' must be a month, YYYY-MM" in _error(knowledge_copy).problem


def test_topic_naming_an_unknown_cluster_is_refused(knowledge_copy):
    _edit(knowledge_copy / "policy.yml", lambda d: d["topics"]["sixth_cluster"].update(clusters=["nowin"]))
    error = _error(knowledge_copy)
    assert error.entry == "topics.sixth_cluster" and "unknown cluster 'nowin'" in error.problem


def test_unknown_sector_file_shape_is_refused(knowledge_copy):
    (knowledge_copy / "sectors.yml").write_text("just text\n", encoding="utf-8")
    assert "non-empty list of sectors" in _error(knowledge_copy).problem


def test_kb_imports_nothing_from_rasa():
    import subprocess, sys  # noqa: E401  (a fresh interpreter: other tests import Rasa)

    code = "import sys, kb, kb.store, kb.names, kb.text; sys.exit(any(m.split('.')[0] in ('rasa', 'rasa_sdk') for m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_the_fast_yaml_reader_reads_what_pyyaml_reads():
    root = Path(__file__).resolve().parent.parent
    files = [*sorted((root / "knowledge").rglob("*.yml")), root / "domain.yml",
             root / "actions" / "messages.yml", root / "actions" / "buttons.yml"]
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert load_yaml(text) == yaml.safe_load(text), path
