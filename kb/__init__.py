"""The knowledge library: the single way anything reads `knowledge/`.

Plain Python (no Rasa import), so it is tested on its own and shared by the NLU component, the
custom actions and the scripts.
"""

from kb.loader import KnowledgeError, load_knowledge
from kb.model import Cluster, ClusterType, Fact, ItemList, KnowledgeBase, Sector, Text, Topic

__all__ = [
    "Cluster",
    "ClusterType",
    "Fact",
    "ItemList",
    "KnowledgeBase",
    "KnowledgeError",
    "Sector",
    "Text",
    "Topic",
    "load_knowledge",
]
