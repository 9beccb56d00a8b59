"""Keeps the knowledge (and the indexes built from it) in service: loaded once, reloaded when a file of `knowledge/` changes,
and, when an edit breaks it, the last good version stays in service (the error is logged)."""

import logging
import threading
import time
from pathlib import Path
from typing import Optional, Tuple, Union

from kb.loader import DEFAULT_KNOWLEDGE_DIR, KnowledgeError, load_knowledge
from kb.model import KnowledgeBase
from kb.names import NameMatcher, entries_from_knowledge
from kb.recommend import ClusterRanker
from kb.understand import Understanding, load_understanding

logger = logging.getLogger(__name__)


def knowledge_signature(directory: Path) -> Tuple[Tuple[str, int, int], ...]:
    """What changes when any knowledge file is edited, added or removed (cheap: stat only)."""
    return tuple(
        (str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in sorted(directory.rglob("*.yml"))
    )


class KnowledgeStore:
    def __init__(self, directory: Union[str, Path] = DEFAULT_KNOWLEDGE_DIR, check_every: float = 2.0) -> None:
        """Loads at once: a broken knowledge base at start raises `KnowledgeError`."""
        self.directory = Path(directory)
        self.check_every = check_every
        self._lock = threading.Lock()
        self._signature = knowledge_signature(self.directory)
        self._knowledge = load_knowledge(self.directory)
        self._matcher = NameMatcher(entries_from_knowledge(self._knowledge))
        self._ranker = ClusterRanker(self._knowledge)
        self._understanding = load_understanding(self.directory)
        self._checked_at = time.monotonic()
        self.last_error: Optional[KnowledgeError] = None

    @property
    def knowledge(self) -> KnowledgeBase:
        self._reload_if_changed()
        return self._knowledge

    @property
    def matcher(self) -> NameMatcher:
        self._reload_if_changed()
        return self._matcher

    @property
    def ranker(self) -> ClusterRanker:
        self._reload_if_changed()
        return self._ranker

    @property
    def understanding(self) -> Understanding:
        self._reload_if_changed()
        return self._understanding

    def _reload_if_changed(self) -> None:
        now = time.monotonic()
        if now - self._checked_at < self.check_every:
            return
        with self._lock:
            self._checked_at = now
            signature = knowledge_signature(self.directory)
            if signature == self._signature:
                return
            self._signature = signature
            try:
                knowledge = load_knowledge(self.directory)
                understanding = load_understanding(self.directory)
            except KnowledgeError as error:
                self.last_error = error
                logger.error("Knowledge edit refused, the last good version stays in service: %s", error)
                return
            matcher, ranker = NameMatcher(entries_from_knowledge(knowledge)), ClusterRanker(knowledge)
            self._knowledge, self._matcher, self._ranker = knowledge, matcher, ranker
            self._understanding = understanding
            self.last_error = None
            logger.info("Knowledge reloaded from %s", self.directory)
