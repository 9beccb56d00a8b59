"""Generated files are generated: they fail the build when knowledge/ moved on without them."""

import subprocess
import sys

from scripts.generate_nlu_names import OUTPUT, ROOT, render


def test_generated_names_are_up_to_date():
    assert OUTPUT.read_text(encoding="utf-8") == render(), "run `python scripts/generate_nlu_names.py`"


def test_check_mode_fails_on_a_stale_file(tmp_path, knowledge_copy):
    import yaml

    path = knowledge_copy / "clusters" / "twist.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["aliases"].append("twistwin")
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    script = [sys.executable, str(ROOT / "scripts" / "generate_nlu_names.py"), "--knowledge-dir", str(knowledge_copy)]
    stale = subprocess.run(script + ["--check"], capture_output=True, text=True)
    assert stale.returncode == 1 and "is stale" in stale.stdout
    output = tmp_path / "names.yml"
    assert subprocess.run(script + ["--output", str(output)]).returncode == 0
    assert "    - twistwin\n" in output.read_text(encoding="utf-8")
    assert subprocess.run(script + ["--output", str(output), "--check"]).returncode == 0


def test_every_cluster_name_and_alias_is_in_the_generated_lookup(knowledge):
    content = OUTPUT.read_text(encoding="utf-8")
    for cluster in knowledge.clusters:
        for alias in (cluster.name, *cluster.aliases):
            assert f"    - {alias}\n" in content
        assert f"- synonym: {cluster.id}\n" in content
