"""The Rasa server without TensorFlow: nothing in this pipeline uses it, yet Rasa 3.6 imports it
twice on `rasa run` (about 430 MB of a ~770 MB server, docs/benchmarks.md):

- at import: `rasa.core.policies.policy` → `tracker_featurizers` → `single_state_featurizer` →
  `rasa.nlu.extractors.extractor`, whose `import rasa.utils.train_utils` is never used there;
  `train_utils` imports `rasa.utils.tensorflow.callback`, which imports TensorFlow.
  `defer_train_utils()` puts `rasa.utils.train_utils` in `sys.modules` unexecuted: its code runs,
  unchanged, the first time one of its names is looked up (by DIET or TED, which need TensorFlow
  anyway). The module object is the one Rasa's import would have made (same spec, same file).
- at model load: `ModelMetadata.from_dict` resolves the classes of the stored *train* schema
  (DIET, TED, CRF… through the recipe validator), which only training uses.
  `defer_train_schema()` leaves that schema serialised until its nodes are first read: Rasa's own
  `GraphSchema.from_dict` then builds them, so training and fine-tuning see the same schema.

`install()` must run before anything imports `rasa.core` (runtime/__main__.py does it first).
"""

import copy
import importlib.util
import sys
from typing import Any, Dict, Optional, Text

TRAIN_UTILS = "rasa.utils.train_utils"


def defer_train_utils() -> None:
    if TRAIN_UTILS in sys.modules:
        return  # already imported (or already deferred): nothing left to defer
    spec = importlib.util.find_spec(TRAIN_UTILS)
    module = importlib.util.module_from_spec(spec)  # its attributes set, its code not run yet

    def run_on_first_lookup(name: Text) -> Any:
        # Module-level __getattr__ (PEP 562) is only asked for names the module lacks, so the
        # import system's own look-ups (__spec__, __name__) do not run the code; this one does.
        del module.__getattr__
        spec.loader.exec_module(module)
        return getattr(module, name)

    module.__getattr__ = run_on_first_lookup
    sys.modules[TRAIN_UTILS] = module
    parent, _, child = TRAIN_UTILS.rpartition(".")
    setattr(importlib.import_module(parent), child, module)


class DeferredGraphSchema:
    """A `GraphSchema` kept serialised until `nodes` is read; then Rasa's `GraphSchema.from_dict`."""

    def __init__(self, serialized: Dict[Text, Any]) -> None:
        self._serialized = copy.deepcopy(serialized)  # from_dict fills it in place
        self._schema: Optional[Any] = None

    def _built(self) -> Any:
        if self._schema is None:
            from rasa.engine.graph import GraphSchema

            self._schema = GraphSchema.from_dict(self._serialized)
        return self._schema

    def __getattr__(self, name: Text) -> Any:  # nodes, as_dict, target_names, minimal_graph_schema…
        return getattr(self._built(), name)

    def __eq__(self, other: object) -> bool:
        return self._built() == (other._built() if isinstance(other, DeferredGraphSchema) else other)

    __hash__ = None


def defer_train_schema() -> None:
    from rasa.engine.storage.storage import ModelMetadata

    if getattr(ModelMetadata.from_dict, "defers_train_schema", False):
        return
    rasa_from_dict = ModelMetadata.from_dict

    def from_dict(serialized: Dict[Text, Any]) -> ModelMetadata:
        metadata = rasa_from_dict({**serialized, "train_schema": {"nodes": {}}})
        metadata.train_schema = DeferredGraphSchema(serialized["train_schema"])
        return metadata

    from_dict.defers_train_schema = True
    from_dict.rasa_from_dict = rasa_from_dict  # kept for the tests' comparison
    ModelMetadata.from_dict = staticmethod(from_dict)


def install() -> None:
    defer_train_utils()
    defer_train_schema()
