import shutil
from pathlib import Path

import pytest

from kb import load_knowledge
from kb.loader import DEFAULT_KNOWLEDGE_DIR
from kb.names import NameMatcher, entries_from_knowledge

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def knowledge():
    return load_knowledge()


@pytest.fixture(scope="session")
def matcher(knowledge):
    return NameMatcher(entries_from_knowledge(knowledge))


@pytest.fixture
def knowledge_copy(tmp_path):
    """A writable copy of knowledge/, to break on purpose."""
    target = tmp_path / "knowledge"
    shutil.copytree(DEFAULT_KNOWLEDGE_DIR, target)
    return target


@pytest.fixture(scope="session")
def assistant(tmp_path_factory):
    """The real action server and Rasa server, started once for the end-to-end tests."""
    from tests.servers import Servers, ensure_model

    ensure_model()
    servers = Servers(tmp_path_factory.mktemp("assistant"))
    try:
        servers.start_actions()
        servers.start_rasa()
        yield servers
    finally:
        servers.stop()
