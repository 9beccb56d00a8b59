"""The shapes of the knowledge, defined once. Every text a user sees is a `Text` (en + fr)."""

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

LANGUAGES = ("en", "fr")


@dataclass(frozen=True)
class Text:
    en: str
    fr: str

    def get(self, language: str) -> str:
        return self.fr if language == "fr" else self.en


@dataclass(frozen=True)
class Source:
    """Where supplementary facts come from, as a person can name and open it (`url` None when no
    address is known)."""

    id: str
    name: Text
    url: Optional[str] = None


@dataclass(frozen=True)
class Fact:
    """A statement with its provenance. No `sources` means the source page."""

    text: Text
    sources: Tuple[Source, ...] = ()
    as_of: Optional[str] = None
    disputed: bool = False

    @property
    def from_page(self) -> bool:
        return not self.sources


@dataclass(frozen=True)
class ItemList:
    """An enumeration as the page gives it; `open` when the page ends it with "…"."""

    label: Text
    items: Tuple[Text, ...]
    open: bool = False
    sources: Tuple[Source, ...] = ()  # none: the source page
    as_of: Optional[str] = None


@dataclass(frozen=True)
class Sector:
    id: str
    name: Text
    aliases: Tuple[str, ...] = ()


@dataclass(frozen=True)
class ClusterType:
    id: str
    name: Text
    plural: Text
    aliases: Tuple[str, ...]
    definition: Text  # from the source page
    notes: Tuple[Fact, ...] = ()


@dataclass(frozen=True)
class Cluster:
    id: str
    name: str
    type: str
    sector: str
    order: int
    summary: Text
    description: Text
    aliases: Tuple[str, ...] = ()
    strategy: Optional[ItemList] = None
    members: Optional[ItemList] = None
    scope: Optional[ItemList] = None
    keywords: Dict[str, Tuple[str, ...]] = field(default_factory=dict)
    french_name: Optional[Fact] = None
    website: Optional[Fact] = None
    founded: Optional[Fact] = None
    notes: Tuple[Fact, ...] = ()


@dataclass(frozen=True)
class Topic:
    id: str
    title: Text
    paragraphs: Tuple[Fact, ...]
    list: Optional[ItemList] = None
    clusters: Tuple[str, ...] = ()


@dataclass(frozen=True)
class Sources:
    page_title: Text
    page_period: Text
    portal: str
    supplementary: Dict[str, Source]  # by id


@dataclass(frozen=True)
class KnowledgeBase:
    sources: Sources
    sectors: Tuple[Sector, ...]
    cluster_types: Tuple[ClusterType, ...]
    clusters: Tuple[Cluster, ...]  # in page order
    topics: Dict[str, Topic]

    def cluster(self, cluster_id: str) -> Optional[Cluster]:
        return next((c for c in self.clusters if c.id == cluster_id), None)

    def sector(self, sector_id: str) -> Optional[Sector]:
        return next((s for s in self.sectors if s.id == sector_id), None)

    def cluster_type(self, type_id: str) -> Optional[ClusterType]:
        return next((t for t in self.cluster_types if t.id == type_id), None)

    def clusters_of(self, sector: Optional[str] = None, cluster_type: Optional[str] = None) -> List[Cluster]:
        """The clusters of a sector and/or a type, in page order; all of them with no filter."""
        return [
            c for c in self.clusters
            if (sector is None or c.sector == sector) and (cluster_type is None or c.type == cluster_type)
        ]
