"""The action server's one knowledge store, loaded at import: a broken knowledge base stops the
action server at start with the file, entry and problem, instead of failing on first question."""

import os

from kb.loader import DEFAULT_KNOWLEDGE_DIR
from kb.store import KnowledgeStore

STORE = KnowledgeStore(os.environ.get("KNOWLEDGE_DIR") or DEFAULT_KNOWLEDGE_DIR)
