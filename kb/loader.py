"""Loads `knowledge/` and validates it, so that a broken edit stops with a message naming the
file, the entry and the problem instead of surfacing as a wrong answer later."""

import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

import yaml

from kb.model import (
    LANGUAGES,
    Cluster,
    ClusterType,
    Fact,
    ItemList,
    KnowledgeBase,
    Sector,
    Source,
    Sources,
    Text,
    Topic,
)
from kb.text import normalize

DEFAULT_KNOWLEDGE_DIR = Path(__file__).resolve().parent.parent / "knowledge"


class KnowledgeError(ValueError):
    def __init__(self, path: Path, entry: str, problem: str) -> None:
        self.path, self.entry, self.problem = path, entry, problem
        super().__init__(f"{path}: entry '{entry}': {problem}")


class _Reader:
    """Reads one file's data, so that every error knows its file and entry; `sources` are the
    supplementary sources of sources.yml that facts may name."""

    def __init__(self, path: Path, entry: str = "(file)", sources: Optional[Dict[str, Source]] = None) -> None:
        self.path, self.entry, self.sources = path, entry, sources or {}

    def at(self, entry: str) -> "_Reader":
        return _Reader(self.path, entry, self.sources)

    def fail(self, problem: str) -> KnowledgeError:
        return KnowledgeError(self.path, self.entry, problem)

    def mapping(self, data: Any, where: str) -> Dict[str, Any]:
        if not isinstance(data, dict):
            raise self.fail(f"'{where}' must be a mapping, got {type(data).__name__}")
        return data

    def field(self, data: Dict[str, Any], name: str, kind: type, required: bool = True) -> Any:
        if name not in data or data[name] is None:
            if required:
                raise self.fail(f"missing field '{name}'")
            return None
        value = data[name]
        if kind is str and isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, kind):
            raise self.fail(f"field '{name}' must be a {kind.__name__}, got {type(value).__name__}")
        if kind is str and not value.strip():
            raise self.fail(f"field '{name}' is empty")
        return value

    def text(self, data: Dict[str, Any], name: str, required: bool = True) -> Optional[Text]:
        raw = self.field(data, name, dict, required)
        if raw is None:
            return None
        return self.text_value(raw, name)

    def text_value(self, raw: Any, where: str) -> Text:
        raw = self.mapping(raw, where)
        values = {}
        for language in LANGUAGES:
            value = raw.get(language)
            if not isinstance(value, str) or not value.strip():
                raise self.fail(f"'{where}' lacks its '{language}' text")
            values[language] = " ".join(value.split())
        unknown = set(raw) - set(LANGUAGES)
        if unknown:
            raise self.fail(f"'{where}' has unknown language(s) {sorted(unknown)}")
        return Text(**values)

    def strings(self, data: Dict[str, Any], name: str) -> Tuple[str, ...]:
        raw = self.field(data, name, list, required=False) or []
        for value in raw:
            if not isinstance(value, str) or not value.strip():
                raise self.fail(f"'{name}' must be a list of non-empty strings, got {value!r}")
        return tuple(raw)

    def fact(self, raw: Any, where: str, text_key: str) -> Fact:
        raw = self.mapping(raw, where)
        value = raw.get(text_key)
        if isinstance(value, str) and value.strip():
            text = Text(en=value.strip(), fr=value.strip())  # a URL or a number reads the same
        elif isinstance(value, dict):
            text = self.text_value(value, f"{where}.{text_key}")
        else:
            raise self.fail(f"'{where}' lacks its '{text_key}'")
        sources = self.named_sources(raw, where)
        return Fact(
            text=text,
            sources=sources,
            as_of=self.as_of(raw, where, sources),
            disputed=bool(raw.get("disputed", False)),
        )

    def as_of(self, raw: Dict[str, Any], where: str, sources: Tuple[Source, ...]) -> Optional[str]:
        """When a supplementary fact was checked, `YYYY-MM` (shown as "November 2026")."""
        as_of = raw.get("as_of")
        if as_of is None:
            if sources:
                raise self.fail(f"'{where}' has a source but no 'as_of' date")
            return None
        if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", str(as_of)):
            raise self.fail(f"'{where}.as_of' must be a month, YYYY-MM, got {as_of!r}")
        return str(as_of)

    def named_sources(self, raw: Dict[str, Any], where: str) -> Tuple[Source, ...]:
        """`source`: one id of sources.yml's `supplementary`, or a list of them; none: the page."""
        ids = raw.get("source")
        if ids is None:
            return ()
        ids = ids if isinstance(ids, list) else [ids]
        if not ids:
            raise self.fail(f"'{where}.source' is an empty list")
        for source_id in ids:
            if not isinstance(source_id, str) or source_id not in self.sources:
                raise self.fail(
                    f"'{where}' names unknown source {source_id!r} (known: {', '.join(self.sources)})"
                )
        return tuple(self.sources[source_id] for source_id in ids)

    def item_list(self, data: Dict[str, Any], name: str) -> Optional[ItemList]:
        raw = self.field(data, name, dict, required=False)
        if raw is None:
            return None
        items = self.field(raw, "items", list)
        if not items:
            raise self.fail(f"'{name}.items' is empty")
        sources = self.named_sources(raw, name)
        return ItemList(
            label=self.text(raw, "label"),
            items=tuple(self.text_value(item, f"{name}.items[{i}]") for i, item in enumerate(items)),
            open=bool(raw.get("open", False)),
            sources=sources,
            as_of=self.as_of(raw, name, sources),
        )


# libyaml's parser where PyYAML was built with it: ten times faster, the same data (it reads
# knowledge/, the messages and the domain at every start of both servers).
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: Any) -> Any:
    """`yaml.safe_load`, with libyaml when available."""
    return yaml.load(text, Loader=_SAFE_LOADER)


def _read_yaml(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as handle:
            return load_yaml(handle)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "(file)"
        problem = getattr(error, "problem", None) or str(error)
        raise KnowledgeError(path, where, f"malformed YAML: {problem}") from None
    except OSError as error:
        raise KnowledgeError(path, "(file)", f"cannot be read: {error.strerror}") from None


def _load_sources(path: Path) -> Sources:
    reader = _Reader(path, "sources")
    data = reader.mapping(_read_yaml(path), "sources.yml")
    page = reader.at("page")
    page_data = page.mapping(page.field(data, "page", dict), "page")
    supplementary = {}
    for source_id, raw in reader.mapping(reader.field(data, "supplementary", dict), "supplementary").items():
        entry = reader.at(f"supplementary.{source_id}")
        raw = entry.mapping(raw, str(source_id))
        name = raw.get("name")
        if isinstance(name, str) and name.strip():
            name = Text(en=name.strip(), fr=name.strip())  # a site's name reads the same
        else:
            name = entry.text(raw, "name")
        url = entry.field(raw, "url", str, required=False)
        if url is not None and not url.startswith("https://"):
            raise entry.fail(f"url '{url}' must start with https://")
        unknown = set(raw) - {"name", "url"}
        if unknown:
            raise entry.fail(f"unknown field(s) {sorted(unknown)}")
        supplementary[str(source_id)] = Source(id=str(source_id), name=name, url=url)
    return Sources(
        page_title=page.text(page_data, "title"),
        page_period=page.text(page_data, "period"),
        portal=reader.field(data, "portal", str),
        supplementary=supplementary,
    )


def _load_sectors(path: Path) -> Tuple[Sector, ...]:
    data = _read_yaml(path)
    if not isinstance(data, list) or not data:
        raise KnowledgeError(path, "(file)", "must be a non-empty list of sectors")
    sectors = []
    for index, raw in enumerate(data):
        reader = _Reader(path, f"#{index + 1}")
        raw = reader.mapping(raw, "sector")
        reader = reader.at(str(raw.get("id", f"#{index + 1}")))
        sectors.append(
            Sector(
                id=reader.field(raw, "id", str),
                name=reader.text(raw, "name"),
                aliases=reader.strings(raw, "aliases"),
            )
        )
    _refuse_duplicates(path, [s.id for s in sectors], "sector id")
    return tuple(sectors)


def _load_policy(path: Path, sources: Dict[str, Source]) -> Tuple[Tuple[ClusterType, ...], Dict[str, Topic]]:
    reader = _Reader(path, sources=sources)
    data = reader.mapping(_read_yaml(path), "policy.yml")
    types = []
    for type_id, raw in reader.mapping(reader.field(data, "cluster_types", dict), "cluster_types").items():
        entry = reader.at(f"cluster_types.{type_id}")
        raw = entry.mapping(raw, type_id)
        notes = entry.field(raw, "notes", list, required=False) or []
        types.append(
            ClusterType(
                id=type_id,
                name=entry.text(raw, "name"),
                plural=entry.text(raw, "plural"),
                aliases=entry.strings(raw, "aliases"),
                definition=entry.text(raw, "definition"),
                notes=tuple(entry.fact(n, f"notes[{i}]", "text") for i, n in enumerate(notes)),
            )
        )
    topics = {}
    for topic_id, raw in reader.mapping(reader.field(data, "topics", dict), "topics").items():
        entry = reader.at(f"topics.{topic_id}")
        raw = entry.mapping(raw, topic_id)
        paragraphs = entry.field(raw, "paragraphs", list)
        topics[topic_id] = Topic(
            id=topic_id,
            title=entry.text(raw, "title"),
            paragraphs=tuple(entry.fact(p, f"paragraphs[{i}]", "text") for i, p in enumerate(paragraphs)),
            list=entry.item_list(raw, "list"),
            clusters=entry.strings(raw, "clusters"),
        )
    return tuple(types), topics


def _load_cluster(path: Path, sector_ids: List[str], type_ids: List[str], sources: Dict[str, Source]) -> Cluster:
    data = _read_yaml(path)
    reader = _Reader(path, path.stem, sources)
    data = reader.mapping(data, path.name)
    reader = reader.at(str(data.get("id", path.stem)))
    cluster_id = reader.field(data, "id", str)
    if cluster_id != path.stem:
        raise reader.fail(f"id '{cluster_id}' differs from the file name '{path.stem}'")
    sector = reader.field(data, "sector", str)
    if sector not in sector_ids:
        raise reader.fail(f"unknown sector '{sector}' (known: {', '.join(sector_ids)})")
    cluster_type = reader.field(data, "type", str)
    if cluster_type not in type_ids:
        raise reader.fail(f"unknown type '{cluster_type}' (known: {', '.join(type_ids)})")
    keywords_raw = reader.field(data, "keywords", dict, required=False) or {}
    keywords = {language: reader.strings(keywords_raw, language) for language in LANGUAGES}
    details = reader.field(data, "details", dict, required=False) or {}
    known_details = {"french_name", "website", "founded", "notes"}
    if set(details) - known_details:
        raise reader.fail(f"unknown details {sorted(set(details) - known_details)}")

    def detail(name: str) -> Optional[Fact]:
        return reader.fact(details[name], f"details.{name}", "value") if name in details else None

    notes = details.get("notes") or []
    if not isinstance(notes, list):
        raise reader.fail("'details.notes' must be a list")
    return Cluster(
        id=cluster_id,
        name=reader.field(data, "name", str),
        type=cluster_type,
        sector=sector,
        order=reader.field(data, "order", int),
        summary=reader.text(data, "summary"),
        description=reader.text(data, "description"),
        aliases=reader.strings(data, "aliases"),
        strategy=reader.item_list(data, "strategy"),
        members=reader.item_list(data, "members"),
        scope=reader.item_list(data, "scope"),
        keywords=keywords,
        french_name=detail("french_name"),
        website=detail("website"),
        founded=detail("founded"),
        notes=tuple(reader.fact(n, f"details.notes[{i}]", "text") for i, n in enumerate(notes)),
    )


def _refuse_duplicates(path: Path, names: List[str], what: str) -> None:
    seen = set()
    for name in names:
        key = name.casefold()
        if key in seen:
            raise KnowledgeError(path, name, f"duplicate {what} '{name}'")
        seen.add(key)


def load_knowledge(directory: Union[str, Path] = DEFAULT_KNOWLEDGE_DIR) -> KnowledgeBase:
    """Loads and validates every file of `directory`; raises `KnowledgeError` on the first problem."""
    directory = Path(directory)
    sources = _load_sources(directory / "sources.yml")
    sectors = _load_sectors(directory / "sectors.yml")
    cluster_types, topics = _load_policy(directory / "policy.yml", sources.supplementary)
    sector_ids = [s.id for s in sectors]
    type_ids = [t.id for t in cluster_types]
    cluster_dir = directory / "clusters"
    paths = sorted(cluster_dir.glob("*.yml"))
    if not paths:
        raise KnowledgeError(cluster_dir, "(folder)", "holds no cluster file")
    clusters = [_load_cluster(path, sector_ids, type_ids, sources.supplementary) for path in paths]
    _refuse_duplicates(cluster_dir, [c.name for c in clusters], "cluster name")
    _refuse_shared_aliases(cluster_dir, clusters)
    for topic in topics.values():
        for cluster_id in topic.clusters:
            if cluster_id not in {c.id for c in clusters}:
                raise KnowledgeError(directory / "policy.yml", f"topics.{topic.id}", f"unknown cluster '{cluster_id}'")
    return KnowledgeBase(
        sources=sources,
        sectors=sectors,
        cluster_types=cluster_types,
        clusters=tuple(sorted(clusters, key=lambda c: (c.order, c.id))),
        topics=topics,
    )


def _refuse_shared_aliases(cluster_dir: Path, clusters: List[Cluster]) -> None:
    """An alias naming two clusters would make the name matcher pick one at random."""
    owner: Dict[str, str] = {}
    for cluster in clusters:
        for alias in (cluster.name, *cluster.aliases):
            key = normalize(alias).replace(" ", "")
            if owner.get(key, cluster.id) != cluster.id:
                raise KnowledgeError(
                    cluster_dir / f"{cluster.id}.yml", cluster.id,
                    f"alias '{alias}' already names cluster '{owner[key]}'",
                )
            owner[key] = cluster.id
