"""The knowledge in service follows edits of knowledge/, and a broken edit keeps the last good
version in service."""

import subprocess

import pytest
import yaml

from kb import KnowledgeError
from kb.store import KnowledgeStore
from tests.servers import RASA, ROOT, environment


def _set_summary(directory, cluster_id, text):
    path = directory / "clusters" / f"{cluster_id}.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["summary"]["en"] = text
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def test_an_edit_changes_the_knowledge_in_service(knowledge_copy):
    store = KnowledgeStore(knowledge_copy, check_every=0)
    _set_summary(knowledge_copy, "skywin", "Skywin, edited.")
    assert store.knowledge.cluster("skywin").summary.en == "Skywin, edited."


def test_a_new_cluster_is_known_to_the_matcher(knowledge_copy):
    store = KnowledgeStore(knowledge_copy, check_every=0)
    source = (knowledge_copy / "clusters" / "twist.yml").read_text(encoding="utf-8")
    data = yaml.safe_load(source)
    data.update(id="hydrowin", name="HydroWin", aliases=["hydro win"], order=15)
    (knowledge_copy / "clusters" / "hydrowin.yml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert [m.value for m in store.matcher.find("what is hydro win?")] == ["hydrowin"]


def test_a_broken_edit_keeps_the_last_good_knowledge(knowledge_copy):
    store = KnowledgeStore(knowledge_copy, check_every=0)
    (knowledge_copy / "clusters" / "biowin.yml").write_text("id: biowin\nname: [BioWin\n", encoding="utf-8")
    assert store.knowledge.cluster("biowin").name == "BioWin"
    assert "biowin.yml" in str(store.last_error) and "malformed YAML" in str(store.last_error)


def test_a_broken_knowledge_base_at_start_raises(knowledge_copy):
    (knowledge_copy / "sectors.yml").unlink()
    with pytest.raises(KnowledgeError, match="sectors.yml"):
        KnowledgeStore(knowledge_copy)


def test_the_action_server_refuses_to_start_on_broken_knowledge(knowledge_copy):
    _set_summary(knowledge_copy, "mecatech", "")
    result = subprocess.run(
        [RASA, "run", "actions", "--actions", "actions", "--port", "0"],
        cwd=ROOT, env=environment(KNOWLEDGE_DIR=str(knowledge_copy)), capture_output=True, text=True, timeout=120,
    )
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "mecatech.yml" in output and "entry 'mecatech'" in output and "'summary' lacks its 'en' text" in output
