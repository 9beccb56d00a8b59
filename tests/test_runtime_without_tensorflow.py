"""runtime/without_tensorflow.py: the Rasa server loads the model and answers without importing
TensorFlow, and the two deferred pieces of Rasa behave as Rasa's own once they are used."""

import importlib.util
import json
import subprocess
import sys
import tarfile
import uuid
from pathlib import Path

from rasa.engine.graph import GraphSchema
from rasa.engine.storage.storage import ModelMetadata

from runtime import without_tensorflow
from tests.servers import ROOT, Servers, ensure_model, environment, texts

# The installed TensorFlow package (found, not imported): a process that imported it has its
# shared libraries (libtensorflow_framework.so.2, _pywrap_tensorflow_internal.so…) mapped.
TENSORFLOW_DIR = str(Path(importlib.util.find_spec("tensorflow").origin).resolve().parent) + "/"


def tensorflow_mapped(pid: int) -> bool:
    mapped_files = (line.split(maxsplit=5)[-1] for line in Path(f"/proc/{pid}/maps").read_text().splitlines())
    return any(path.startswith(TENSORFLOW_DIR) for path in mapped_files)


def python(code: str) -> dict:
    """Runs `code` in a fresh interpreter (as the server starts: nothing imported yet); its last
    line of output is JSON."""
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=environment(), capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def stored_metadata() -> dict:
    with tarfile.open(ensure_model()) as archive:
        return json.load(archive.extractfile("metadata.json"))


def test_the_server_answers_without_tensorflow(tmp_path):
    servers = Servers(tmp_path)
    try:
        servers.start_actions()
        rasa = servers.start_rasa()
        user = f"no-tf-{uuid.uuid4().hex[:8]}"
        assert "Skywin" in texts(servers.say(user, "What is Skywin?"))
        assert texts(servers.say(user, "what are its axes?"))
        assert texts(servers.say(user, "quels sont les secteurs clés ?"))
        assert not tensorflow_mapped(rasa.pid), "the Rasa server has loaded TensorFlow"
    finally:
        servers.stop()


def test_the_check_sees_tensorflow_when_rasas_import_path_is_taken():
    """The control for the test above: Rasa's own import of its policies maps TensorFlow."""
    seen = python("import json, os, sys\n"
                  "import rasa.core.policies.policy\n"
                  "from tests.test_runtime_without_tensorflow import tensorflow_mapped\n"
                  "print(json.dumps([tensorflow_mapped(os.getpid()), 'tensorflow' in sys.modules]))")
    assert seen == [True, True]


def test_rasas_policies_and_the_model_load_without_tensorflow():
    seen = python("import asyncio, json, sys\n"
                  "from runtime import without_tensorflow\n"
                  "without_tensorflow.install()\n"
                  "import rasa.core.policies.policy, rasa.core.actions.action\n"
                  "from rasa.core.agent import load_agent\n"
                  "agent = asyncio.run(load_agent(model_path='models/current.tar.gz'))\n"
                  "print(json.dumps([agent.is_ready(), 'tensorflow' in sys.modules, "
                  "'rasa.graph_components.validators.default_recipe_validator' in sys.modules]))")
    assert seen == [True, False, False]


def test_deferred_train_utils_becomes_rasas_module_on_first_use():
    names = "sorted(n for n in vars(tu) if not n.startswith('__'))"
    stock = python(f"import json\nimport rasa.utils.train_utils as tu\nprint(json.dumps([tu.__file__, {names}]))")
    deferred = python("import json, sys\n"
                      "from runtime import without_tensorflow\n"
                      "without_tensorflow.install()\n"
                      "import rasa.nlu.extractors.extractor\n"
                      "import rasa.utils.train_utils as tu\n"
                      "before = 'tensorflow' in sys.modules\n"
                      "defaults = tu.check_deprecated_options({'epochs': 2})\n"
                      f"print(json.dumps([before, defaults, tu is sys.modules['rasa.utils.train_utils'], "
                      f"tu.__file__, {names}]))")
    assert deferred[:3] == [False, {"epochs": 2}, True]
    assert deferred[3:] == stock


def test_deferred_train_schema_is_rasas_schema_once_read():
    serialized = stored_metadata()
    by_rasa = ModelMetadata.from_dict(json.loads(json.dumps(serialized)))
    without_tensorflow.defer_train_schema()
    try:
        deferred = ModelMetadata.from_dict(json.loads(json.dumps(serialized)))
        assert isinstance(deferred.train_schema, without_tensorflow.DeferredGraphSchema)
        assert deferred.predict_schema == by_rasa.predict_schema
        assert deferred.domain.as_dict() == by_rasa.domain.as_dict()
        assert deferred.train_schema.nodes == by_rasa.train_schema.nodes
        assert deferred.train_schema == by_rasa.train_schema
        assert deferred.as_dict() == by_rasa.as_dict()
        assert deferred.train_schema.target_names == by_rasa.train_schema.target_names
        assert isinstance(deferred.train_schema._built(), GraphSchema)
    finally:
        ModelMetadata.from_dict = ModelMetadata.from_dict.rasa_from_dict
    assert not hasattr(ModelMetadata.from_dict, "defers_train_schema")
