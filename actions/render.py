"""How a query result becomes messages (text and buttons), per language. The sentences come
from messages.yml, the facts from the knowledge base; nothing else is said."""

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple


from actions.buttons import CONTRACT
from kb.loader import load_yaml
from kb.model import Cluster, Fact, ItemList, KnowledgeBase, Source, Topic
from kb.recommend.ranking import TOLD_REASONS

_MESSAGES: Dict[str, Dict[str, Any]] = load_yaml(
    (Path(__file__).with_name("messages.yml")).read_text(encoding="utf-8")
)


# The characters that make Markdown of plain text: links, images, emphasis, code (and the escape itself).
_MARKDOWN_CHARACTERS = re.compile(r"[\\`*_\[\]()!]")


def user_text(text: str) -> str:
    """Words the user wrote, to quote in a reply: every Markdown character backslash-escaped, so
    that they are shown as typed and never become a link, an image or emphasis (the widget renders
    Markdown, and an embedding site may not filter its links; channels/formatting.py reads the
    escapes for Telegram and Slack)."""
    return _MARKDOWN_CHARACTERS.sub(lambda m: "\\" + m.group(), text)


@dataclass
class Reply:
    """A reply; `from_page` when it states facts of the source page: actions/common.py's `send`
    then ends it with the page note, in full the first time in a session, else as a marker."""
    text: str
    buttons: List[Dict[str, str]] = field(default_factory=list)
    from_page: bool = False


def say(key: str, language: str, **values: Any) -> str:
    """A sentence of messages.yml; a French one may also say "{of_name}", "{to_name}", "{the_name}"
    and "{The_name}" (and "{of_label}") to elide, contract and take the article: "d'Infopole", "du
    Cluster Photonique", "au Cluster Photonique", "le Cluster Photonique", "pas d'axes"."""
    if "name" in values:
        values.setdefault("of_name", of_name(values["name"], language))
        values.setdefault("to_name", to_name(values["name"], language))
        values.setdefault("the_name", the_name(values["name"], language))
        values.setdefault("The_name", the_name(values["name"], language, capital=True))
    if "label" in values:
        values.setdefault("of_label", of_name(values["label"], language))
    return _MESSAGES[key][language].format(**values)


def button(title: str, intent: str, **entities: str) -> Dict[str, str]:
    """A button whose payload the contract (buttons.yml) declares; any other is refused."""
    return CONTRACT.button(title, intent, **entities)


def page_note(kb: KnowledgeBase, language: str, full: bool = True) -> str:
    """What the page's facts rest on: in full (the page and its time), or the short marker once
    the full note was said in the session."""
    return say("page_source" if full else "page_marker", language, title=kb.sources.page_title.get(language),
               period=kb.sources.page_period.get(language))


def with_page_note(kb: KnowledgeBase, reply: Reply, language: str, full: bool) -> Reply:
    if not reply.from_page:
        return reply
    return Reply(f"{reply.text}\n\n{page_note(kb, language, full)}", reply.buttons)


def source_name(source: Source, language: str) -> str:
    """A source as a person can open it: its name, linked (Markdown, which the web widget, Telegram
    and Slack render as a link) where its address is known."""
    name = source.name.get(language)
    return f"[{name}]({source.url})" if source.url else name


def as_of_date(as_of: str, language: str) -> str:
    """"2026-11" → "November 2026" / "novembre 2026"."""
    year, month = as_of.split("-")
    return f"{_MESSAGES['months'][language][month]} {year}"


def fact_note(fact: Fact, language: str) -> str:
    """Provenance of a supplementary fact (a page fact gets the page note once per answer)."""
    if fact.from_page:
        return ""
    key = "fact_source" if len(fact.sources) == 1 else "fact_sources"
    return say(key, language, sources=_join([source_name(s, language) for s in fact.sources], language),
               as_of=as_of_date(fact.as_of, language), disputed=say("disputed", language) if fact.disputed else "")


def fact_text(fact: Fact, language: str) -> str:
    return " ".join(part for part in (fact.text.get(language), fact_note(fact, language)) if part)


def _bullets(items: Sequence[str]) -> str:
    return "\n".join(f"- {item}" for item in items)


def _numbered(items: Sequence[str]) -> str:
    return "\n".join(f"{i}. {item}" for i, item in enumerate(items, 1))


def item_list(kb: KnowledgeBase, items: ItemList, name: str, language: str) -> str:
    label = items.label.get(language)
    open_mark = f" ({say('among_others', language)})" if items.open else ""
    if items.open:
        heading = say("list_heading", language, name=name, label=label, label_cap=label[:1].upper() + label[1:], open=open_mark)
    else:
        heading = say("list_heading_counted", language, name=name, of_name=of_name(name, language), label=label,
                      count=len(items.items))
    lines = [i.get(language) for i in items.items]
    if items.open:
        lines.append("…")
    return f"{heading}\n{_bullets(lines)}"


def type_name(kb: KnowledgeBase, type_id: str, language: str, plural: bool = False) -> str:
    cluster_type = kb.cluster_type(type_id)
    return (cluster_type.plural if plural else cluster_type.name).get(language)


def sector_name(kb: KnowledgeBase, sector_id: str, language: str) -> str:
    return kb.sector(sector_id).name.get(language)


def cluster_buttons(kb: KnowledgeBase, cluster: Cluster, language: str) -> List[Dict[str, str]]:
    """What else there is to ask of a cluster after a short answer about it."""
    buttons = [button(say("button_more", language), "ask_more", cluster=cluster.id)]
    if cluster.strategy:
        buttons.append(button(say("button_strategy", language, label=cluster.strategy.label.get(language)), "ask_cluster_strategy", cluster=cluster.id))
    if cluster.members or cluster.scope:
        buttons.append(button(say("button_members", language), "ask_cluster_members", cluster=cluster.id))
    buttons.append(button(say("button_website", language), "ask_cluster_website", cluster=cluster.id))
    buttons.append(button(say("button_how_to_join", language, name=cluster.name), "ask_join", cluster=cluster.id))
    sector = sector_name(kb, cluster.sector, language)
    buttons.append(button(say("button_sector_clusters", language, sector=sector), "list_clusters", sector=cluster.sector))
    return buttons


# The first answer about a cluster says at most this many words (its buttons, sources and page
# note aside); what does not fit is offered with "more".
FIRST_ANSWER_WORDS = 90


def _other_french_name(cluster: Cluster, language: str) -> Optional[str]:
    french = cluster.french_name
    if french is None or french.text.get(language).casefold() == cluster.name.casefold():
        return None
    return french.text.get(language)


def stored_fields(cluster: Cluster, language: str, budget: int = FIRST_ANSWER_WORDS) -> Tuple[List[str], List[Fact]]:
    """(lines, notes left out): a cluster's French name where it differs from its name, then its
    notes, with their sources, as many as `budget` words allow (sources not counted): what a
    first answer or a recommendation of it must not leave out."""
    lines = []
    french = _other_french_name(cluster, language)
    if french is not None:
        lines.append(say("french_name_also", language, value=french, source=fact_note(cluster.french_name, language)))
        budget -= len(say("french_name_also", language, value=french, source="").split())
    left_out = []
    for note in cluster.notes:
        words = len(note.text.get(language).split())
        if words <= budget and not left_out:
            lines.append(fact_text(note, language))
            budget -= words
        else:
            left_out.append(note)
    return lines, left_out


def cluster_overview(kb: KnowledgeBase, cluster: Cluster, language: str, answering: Sequence[str] = ()) -> Reply:
    """The first answer about a cluster, short: what it is, its type and sector, the sentences of
    its page paragraph that answer the question (`answering`), and its stored fields, within
    FIRST_ANSWER_WORDS; the buttons offer the rest (its page paragraph with "more", strategy,
    members, website, how to join)."""
    heading = say(
        "cluster_heading", language, name=cluster.name,
        type=type_name(kb, cluster.type, language), sector=sector_name(kb, cluster.sector, language),
    )
    parts = [heading, cluster.summary.get(language)]
    budget = FIRST_ANSWER_WORDS - len(" ".join(parts).split())
    answer = [sentence for sentence in answering if sentence not in parts[1]]
    french = _other_french_name(cluster, language)  # room is kept for it
    french_words = len(say("french_name_also", language, value=french, source="").split()) if french else 0
    if answer and len(" ".join(answer).split()) <= budget - french_words:
        parts.append(" ".join(answer))
        budget -= len(parts[-1].split())
    fields, _ = stored_fields(cluster, language, budget)
    return Reply("\n\n".join(parts + fields), cluster_buttons(kb, cluster, language), from_page=True)


def cluster_description(kb: KnowledgeBase, cluster: Cluster, language: str) -> Reply:
    """"More" about a cluster: the page's paragraph, the notes the first answer left out, and its
    website."""
    heading = say("cluster_heading", language, name=cluster.name, type=type_name(kb, cluster.type, language),
                  sector=sector_name(kb, cluster.sector, language))
    _, left_out = stored_fields(cluster, language, FIRST_ANSWER_WORDS - len(f"{heading} {cluster.summary.get(language)}".split()))
    parts = [cluster.description.get(language), *[fact_text(n, language) for n in left_out]]
    if cluster.website:
        parts.append(say("website_line", language, url=cluster.website.text.get(language), source=fact_note(cluster.website, language),
                         name=cluster.name))
    return Reply("\n\n".join(parts), cluster_buttons(kb, cluster, language)[1:], from_page=True)


def type_definition(kb: KnowledgeBase, type_id: str, language: str) -> Reply:
    """What a cluster type is: its definition (the page's) and what later sources add."""
    cluster_type = kb.cluster_type(type_id)
    parts = [f"**{cluster_type.plural.get(language)[:1].upper()}{cluster_type.plural.get(language)[1:]}**",
             cluster_type.definition.get(language), *[fact_text(n, language) for n in cluster_type.notes]]
    buttons = [button(c.name, "ask_cluster_info", cluster=c.id) for c in kb.clusters_of(cluster_type=type_id)]
    return Reply("\n\n".join(parts), buttons, from_page=True)


def _not_known(kb: KnowledgeBase, cluster: Cluster, attribute: str, language: str) -> str:
    what = _MESSAGES["attribute_names"][language][attribute]
    return say("not_known", language, what=what, name=cluster.name, of_name=of_name(cluster.name, language), portal=kb.sources.portal)


def cluster_attribute(kb: KnowledgeBase, cluster: Cluster, attribute: str, language: str,
                      notes: Sequence[Fact] = ()) -> Reply:
    """One attribute of a cluster: strategy, members, sector, type, website, founded, french_name
    or notes; `notes` are the cluster's later facts that speak of it (a member count, an origin)."""
    buttons = [button(say("button_details", language, name=cluster.name), "ask_cluster_info", cluster=cluster.id)]
    extra = [fact_text(note, language) for note in notes]
    if attribute == "strategy":
        if cluster.strategy:
            text = item_list(kb, cluster.strategy, cluster.name, language)
        else:
            no_list = say("no_list", language, label=say("no_strategy_label", language), name=cluster.name)
            text = f"{no_list}\n\n{cluster.description.get(language)}"
        return Reply(text, buttons, from_page=True)
    if attribute == "members":
        lists = [item_list(kb, l, cluster.name, language) for l in (cluster.members, cluster.scope) if l]
        if not lists and not extra:
            text = f"{_not_known(kb, cluster, 'members', language)}\n\n{cluster.description.get(language)}"
        else:
            text = "\n\n".join(extra + lists)
        return Reply(text, buttons, from_page=bool(lists))
    if attribute == "sector":
        others = [c.name for c in kb.clusters_of(sector=cluster.sector) if c.id != cluster.id]
        sector = sector_name(kb, cluster.sector, language)
        key = "sector_answer" if others else "sector_answer_alone"
        text = say(key, language, name=cluster.name, sector=sector, others=_join(others, language))
        return Reply(text, cluster_buttons(kb, cluster, language)[-1:] + buttons, from_page=True)
    if attribute == "type":
        cluster_type = kb.cluster_type(cluster.type)
        text = say("type_answer", language, name=cluster.name, type=cluster_type.name.get(language))
        parts = [text, cluster_type.definition.get(language)]
        parts += [fact_text(note, language) for note in cluster_type.notes]
        return Reply("\n\n".join(parts), buttons, from_page=True)
    if attribute in ("website", "founded", "french_name"):
        fact = getattr(cluster, attribute)
        if fact is None and extra:  # "who started it?": a later source tells its origin
            url = cluster.website.text.get(language) if cluster.website else kb.sources.portal
            text = say("fact_of", language, name=cluster.name, facts=" ".join(extra))
            return Reply(f"{text}\n\n{say('current_details', language, url=url)}", buttons)
        later = "".join(f"\n{e}" for e in extra)  # "what does the name stand for?"
        if fact is None:
            return Reply(_not_known(kb, cluster, attribute, language), buttons)
        line = {"website": "website_line", "founded": "founded_line", "french_name": "french_name_line"}[attribute]
        text = say(line, language, url=fact.text.get(language), value=fact.text.get(language), source=fact_note(fact, language),
                   name=cluster.name, of_name=of_name(cluster.name, language))
        return Reply(text + later, buttons)
    if attribute == "notes":
        if not cluster.notes:
            return Reply(cluster_overview(kb, cluster, language).text, buttons, from_page=True)
        return Reply("\n".join([say("notes_heading", language)] + [f"- {fact_text(n, language)}" for n in cluster.notes]), buttons)
    raise ValueError(f"unknown cluster attribute {attribute!r}")


def _join(names: Sequence[str], language: str) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + say("and", language) + names[-1]


def cluster_list(kb: KnowledgeBase, clusters: Sequence[Cluster], heading: str, language: str, by_sector: bool = False) -> Reply:
    lines = []
    if by_sector:
        number = 0
        for sector in kb.sectors:
            members = [c for c in clusters if c.sector == sector.id]
            if not members:
                continue
            lines.append(f"**{sector.name.get(language)}**")
            for cluster in members:
                number += 1
                lines.append(f"{number}. {cluster.name} — {type_name(kb, cluster.type, language)}")
    else:
        lines = [f"{i}. {c.name} — {type_name(kb, c.type, language)}" for i, c in enumerate(clusters, 1)]
    text = "\n".join([heading, *lines, "", say("list_follow_up" if len(clusters) > 1 else "list_follow_up_one", language)])
    buttons = [button(c.name, "ask_cluster_info", cluster=c.id) for c in clusters]
    return Reply(text, buttons)


def sectors(kb: KnowledgeBase, language: str) -> Reply:
    lines = []
    for sector in kb.sectors:
        names = [c.name for c in kb.clusters_of(sector=sector.id)]
        lines.append(say("sector_line", language, sector=sector.name.get(language), count=len(names), names=", ".join(names)))
    text = "\n".join([say("sectors_heading", language, count=len(kb.sectors)), _bullets(lines)])
    buttons = [button(s.name.get(language), "list_clusters", sector=s.id) for s in kb.sectors]
    return Reply(text, buttons, from_page=True)


def comparison(kb: KnowledgeBase, clusters: Sequence[Cluster], language: str) -> Reply:
    """Two clusters or more side by side: types, sectors, then each one's summary and lists."""
    names = _join([c.name for c in clusters], language)
    lines = [say("compare_heading", language, names=names)]
    types, sectors = {c.type for c in clusters}, {c.sector for c in clusters}
    same = "both" if len(clusters) == 2 else "same"
    if len(types) == 1:
        lines.append(say(f"compare_type_{same}", language, types=type_name(kb, clusters[0].type, language, plural=True)))
    else:
        lines.append(say("separator", language).join(
            say("compare_type_of", language, name=c.name, type=type_name(kb, c.type, language)) for c in clusters))
    if len(sectors) == 1:
        lines.append(say(f"compare_sector_{same}", language, sector=sector_name(kb, clusters[0].sector, language)))
    else:
        lines.append(say("separator", language).join(
            say("compare_sector_of", language, name=c.name, sector=sector_name(kb, c.sector, language)) for c in clusters))
    for cluster in clusters:
        lines.append("")
        lines.append(f"**{cluster.name}** — {cluster.summary.get(language)}")
        for items in (cluster.strategy, cluster.members):
            if items:
                count = say("compare_count_open", language, count=len(items.items)) if items.open else len(items.items)
                label = items.label.get(language)
                lines.append(say("compare_list_count", language, count=count, label_cap=label[:1].upper() + label[1:],
                                 items=say("separator", language).join(i.get(language) for i in items.items)))
    buttons = [button(say("button_details", language, name=c.name), "ask_cluster_info", cluster=c.id) for c in clusters]
    return Reply("\n".join(lines), buttons, from_page=True)


def topic(kb: KnowledgeBase, topic: Topic, language: str, only: Optional[Sequence[int]] = None,
          more_of: Optional[str] = None) -> Reply:
    """A policy topic; `only` the paragraphs of these indexes, in that order (the ones the question
    asks about); `more_of` the topic whose rest is offered with "more" (a long topic's lead)."""
    paragraphs = list(topic.paragraphs) if only is None else [topic.paragraphs[i] for i in only]
    parts = [f"**{topic.title.get(language)}**"]
    parts += [fact_text(p, language) for p in paragraphs]
    if topic.list:
        open_mark = f" ({say('among_others', language)})" if topic.list.open else ""
        source = fact_note(Fact(topic.list.label, topic.list.sources, topic.list.as_of), language)
        heading = say("topic_list_heading", language, label=topic.list.label.get(language), open=open_mark)
        heading = f"{heading} {source}".rstrip() if source else heading
        parts.append(f"{heading}\n" + _numbered([i.get(language) for i in topic.list.items]))
    from_page = any(p.from_page for p in paragraphs) or bool(topic.list and not topic.list.sources)
    buttons = [button(say("button_more", language), "ask_more", topic=more_of)] if more_of else []
    if more_of:
        parts.append(say("more_offered", language))
    buttons += [button(kb.cluster(c).name, "ask_cluster_info", cluster=c) for c in topic.clusters]
    return Reply("\n\n".join(parts), buttons, from_page=from_page)


def unknown_cluster(kb: KnowledgeBase, name: str, closest: Sequence[str], language: str) -> Reply:
    if closest:
        return Reply(say("unknown_cluster", language, name=user_text(name)),
                     [button(kb.cluster(c).name, "ask_cluster_info", cluster=c) for c in closest])
    heading = say("unknown_cluster_no_match", language, name=user_text(name), count=len(kb.clusters))
    return cluster_list(kb, kb.clusters, heading, language, by_sector=True)


def ask_which_cluster(kb: KnowledgeBase, language: str) -> Reply:
    return Reply(say("ask_which_cluster", language), [button(c.name, "ask_cluster_info", cluster=c.id) for c in kb.clusters])


def _choice_buttons(kind: str, intent: str, entity: str, language: str) -> List[Dict[str, str]]:
    buttons = [button(title, intent, **{entity: value}) for value, title in _MESSAGES[kind][language].items()]
    return buttons + [button(say("button_skip", language), "skip_question")]


def ask_activity(kb: KnowledgeBase, again: bool, uncovered: bool, language: str) -> Reply:
    """The activity question; asked again after a vague answer, in other words; after one that
    describes an activity no cluster covers, saying so and offering the key sectors."""
    if uncovered:
        return Reply(say("activity_not_covered", language), [button(s.name.get(language), "list_clusters", sector=s.id) for s in kb.sectors])
    return Reply(say("ask_activity_again" if again else "ask_activity", language))


def tentative_match(kb: KnowledgeBase, cluster: Cluster, language: str) -> Reply:
    """An activity that matched one cluster on a single word: said as a possibility, with a request
    for more, rather than as a recommendation."""
    text = say("activity_tentative", language, name=cluster.name, type=type_name(kb, cluster.type, language))
    return Reply(text, [button(say("button_details", language, name=cluster.name), "ask_cluster_info", cluster=cluster.id)])


def ask_organisation_type(language: str) -> Reply:
    return Reply(say("ask_organisation_type", language), _choice_buttons("organisation_types", "inform_organisation_type", "organisation_type", language))


def ask_goal(language: str) -> Reply:
    return Reply(say("ask_goal", language), _choice_buttons("goals", "inform_goal", "goal", language))


def answer_noted(slot: str, value: str, language: str) -> Reply:
    labels = _MESSAGES["organisation_types" if slot == "organisation_type" else "goals"][language]
    answer = labels.get(value) or user_text(value)
    # Said within a sentence: "C'est noté : entreprise ou PME." (an acronym keeps its capitals)
    lower = answer if answer[1:2].isupper() else answer[:1].lower() + answer[1:]
    return Reply(say("answer_noted", language, answer_lower=lower))


# A French list of members that starts with an article is quoted after "parmi ses membres" as
# it is; any other takes "des": "il compte parmi ses membres des « centres de recherche »".
_FRENCH_ARTICLES = ("le ", "la ", "les ", "l'", "l’", "un ", "une ", "des ", "du ")
_QUOTES = {"en": ("“", "”", "‘", "’"), "fr": ("«", "»", "“", "”")}


def _page_quote(text: str, language: str, list_item: bool = False) -> str:
    """A passage of the page in quotation marks (as it is when it is one quotation already, else
    with its own quotation marks made the inner kind); an English list item without its capital."""
    opening, closing, inner_opening, inner_closing = _QUOTES[language]
    core = text.strip("…")
    if core.startswith(opening) and core.endswith(closing) and core.count(opening) == 1:
        return text
    inner = re.sub(rf"{opening}\s*", inner_opening, re.sub(rf"\s*{closing}", inner_closing, text))
    if list_item and language == "en" and inner[:1].isupper() and inner[1:2].islower():
        inner = inner[0].lower() + inner[1:]
    return say("quoted", language, text=inner)


def _members_quote(text: str, language: str) -> str:
    quoted = _page_quote(text, language, list_item=True)
    if language == "fr" and not text.casefold().startswith(_FRENCH_ARTICLES):
        return f"des {quoted}"
    return quoted


def _of_quoted(quoted: str, language: str) -> str:
    """"de « fret »", "d'« avions »": French elides before a quoted word that starts with a vowel."""
    first = quoted.lstrip("« ")[:1].casefold()
    return f"d'{quoted}" if first and first in "aeiouyéèêàâîïôûh" else f"de {quoted}"


def _said(reasons: Sequence[Any]) -> List[str]:
    """The user's words of keyword reasons, each once (a phrase inside another one left out)."""
    phrases = list(dict.fromkeys(w for r in reasons for w in (r.said or r.terms)))
    return [p for p in phrases if not any(p != o and p.casefold() in o.casefold() for o in phrases)]


def _passage(reason: Any, language: str) -> str:
    return reason.passage.get(language) if reason.passage else reason.item.get(language)


def _reason(kb: KnowledgeBase, cluster: Cluster, reasons: Sequence[Any], goal: Optional[str], language: str) -> str:
    """Reasons of one kind as a person says them: what the page says of the cluster (quoted), or
    the user's own words and that they are a related field; never a keyword the user did not write."""
    reason = reasons[0]
    if reason.kind == "member_type":
        if reason.field == "description":
            quote = _passage(reason, language)
            if not quote:
                return say("reason_member_type_stated", language)
            return say("reason_member_type_described", language, quote=_page_quote(quote, language))
        return say("reason_member_type", language, members=_members_quote(_passage(reason, language), language))
    if reason.kind == "goal":
        goal_title = _MESSAGES["goals"][language].get(goal or "", goal or "")
        return say("reason_goal", language, goal=goal_title, type=type_name(kb, cluster.type, language))
    if reason.kind == "keyword":
        said = _said(reasons)
        quoted = [say("quoted", language, text=user_text(w)) for w in said]
        key = "reason_keyword" if len(said) == 1 else "reason_keywords"
        return say(key, language, said=_join(quoted, language), name=cluster.name,
                   of_said=_join([_of_quoted(q, language) for q in quoted], language))
    if reason.field == "members":
        return say("reason_members", language, members=_join([_members_quote(_passage(r, language), language) for r in reasons], language))
    quotes = _join([_page_quote(_passage(r, language), language, list_item=r.field != "description") for r in reasons], language)
    if reason.field == "description":
        return say("reason_description", language, quote=quotes)
    lists = {"strategy": cluster.strategy, "scope": cluster.scope}
    label = lists[reason.field].label.get(language) if lists.get(reason.field) else reason.field
    return say(f"reason_{reason.field}", language, quote=quotes, label=label, name=cluster.name)


def _told(kb: KnowledgeBase, cluster: Cluster, reasons: Sequence[Any], goal: Optional[str], language: str) -> List[str]:
    """The reasons told of a match, those of one kind said together ("you mention “trucks” and
    “deliveries”")."""
    groups: Dict[Any, List[Any]] = {}
    for reason in reasons:
        alone = reason.kind in ("member_type", "goal")
        groups.setdefault(id(reason) if alone else (reason.kind, reason.field), []).append(reason)
    return [_reason(kb, cluster, group, goal, language) for group in groups.values()]


def recommendation(kb: KnowledgeBase, matches: Sequence[Any], goal: Optional[str], language: str) -> Reply:
    """The ranked clusters, each with its type, sector, reasons and how to get in touch."""
    if not matches:
        return Reply(say("recommendation_none", language),
                     [button(s.name.get(language), "list_clusters", sector=s.id) for s in kb.sectors])
    parts = [say("recommendation_heading", language)]
    buttons = []
    for rank, match in enumerate(matches, 1):
        cluster = kb.cluster(match.cluster_id)
        lines = [say("recommendation_item", language, rank=rank, name=cluster.name,
                     type=type_name(kb, cluster.type, language), sector=sector_name(kb, cluster.sector, language))]
        reasons = _told(kb, cluster, match.reasons[:TOLD_REASONS], goal, language)
        if reasons:
            lines.append(say("recommendation_why", language, reasons=say("separator", language).join(reasons)))
        if cluster.notes:  # what the sources say of it since the page (Val+: no current source knows that name)
            lines.append(fact_text(cluster.notes[0], language))
        if cluster.website:
            lines.append(say("recommendation_contact_website", language, url=cluster.website.text.get(language)))
        else:
            lines.append(say("recommendation_contact_portal", language, portal=kb.sources.portal))
        parts.append("\n".join(lines))
        buttons.append(button(say("button_details", language, name=cluster.name), "ask_cluster_info", cluster=cluster.id))
    top = kb.cluster(matches[0].cluster_id)
    buttons.append(button(say("button_how_to_join", language, name=top.name), "ask_join", cluster=top.id))
    parts.append(say("recommendation_footer", language))
    return Reply("\n\n".join(parts), buttons)


def joining(kb: KnowledgeBase, topic_reply: Reply, cluster: Optional[Cluster], language: str,
            own: Sequence[Fact] = ()) -> Reply:
    """A joining topic, for the cluster in focus when there is one (what is known of it), with where
    to get in touch: the cluster's website, else the portal."""
    known = say("fact_of", language, name=cluster.name, facts=" ".join(fact_text(n, language) for n in own)) if own else ""
    text = f"{topic_reply.text}\n\n{known}" if known else topic_reply.text
    if cluster is not None and cluster.website:
        contact = say("contact_cluster_website", language, name=cluster.name, url=cluster.website.text.get(language))
    else:
        contact = say("contact_portal", language, portal=kb.sources.portal)
    return Reply(f"{text}\n\n{contact}", topic_reply.buttons, from_page=topic_reply.from_page)


# A name that starts with one of these takes an article in French: "le Cluster Photonique".
_FRENCH_ARTICLE_NAMES = ("cluster ",)


def of_name(name: str, language: str) -> str:
    """"of X" in French: "de Skywin", "d'Infopole", "du Cluster Photonique"."""
    if language != "fr":
        return name
    if name.casefold().startswith(_FRENCH_ARTICLE_NAMES):
        return f"du {name}"
    return f"d'{name}" if name[:1].casefold() in "aeiouyéèêàâîïôûh" else f"de {name}"


def the_name(name: str, language: str, capital: bool = False) -> str:
    """X in a French sentence: "Skywin", "le Cluster Photonique" ("Le ..." to begin one)."""
    if language != "fr" or not name.casefold().startswith(_FRENCH_ARTICLE_NAMES):
        return name
    return f"{'Le' if capital else 'le'} {name}"


def to_name(name: str, language: str) -> str:
    """"to X" in French: "à Skywin", "au Cluster Photonique"."""
    if language != "fr":
        return name
    return f"au {name}" if name.casefold().startswith(_FRENCH_ARTICLE_NAMES) else f"à {name}"


def unknown_fact(kb: KnowledgeBase, cluster: Optional[Cluster], fact: str, language: str,
                 nearby: Sequence[Fact] = ()) -> Reply:
    """A fact the sources give for no cluster: said to be unknown, with what is known nearby and
    where to look (the cluster's website, else the portal). Never a figure."""
    what = _MESSAGES["unknown_fact_names"][language][fact]
    if cluster is None:
        lines = [say("unknown_fact_general", language, what=what)]
        return Reply("\n\n".join(lines + [say("current_details", language, url=kb.sources.portal)]))
    lines = [say("unknown_fact", language, what=what, name=cluster.name, of_name=of_name(cluster.name, language))]
    known = " ".join([cluster.summary.get(language)] + [fact_text(f, language) for f in nearby])
    lines.append(say("what_is_known", language, facts=known))
    url = cluster.website.text.get(language) if cluster.website else kb.sources.portal
    lines.append(say("current_details", language, url=url))
    return Reply("\n\n".join(lines), [button(say("button_details", language, name=cluster.name), "ask_cluster_info", cluster=cluster.id)])


def ordering(kb: KnowledgeBase, ordered: Sequence[str], undated: Sequence[str], order: str, language: str,
             year_of: Any) -> Reply:
    """Clusters by founding date (`ordered`, already sorted), and those whose date nobody gives."""
    undated_names = _join([kb.cluster(c).name for c in undated], language)
    if not ordered:
        return Reply(say("order_none", language, names=undated_names))
    first = kb.cluster(ordered[0])
    lines = [say(f"order_{order}", language, name=first.name, year=year_of(first))]
    lines += [say("order_line", language, rank=i, name=kb.cluster(c).name, founded=fact_text(kb.cluster(c).founded, language))
              for i, c in enumerate(ordered, 1)]
    if undated:
        lines.append(say("order_undated", language, names=undated_names))
    buttons = [button(say("button_details", language, name=kb.cluster(c).name), "ask_cluster_info", cluster=c) for c in ordered]
    return Reply("\n".join(lines), buttons)


def filtered(kb: KnowledgeBase, matching: Sequence[str], shown: Sequence[str], language: str) -> Reply:
    """The clusters last shown that match a filter ("which of those are poles?")."""
    if not matching:
        return Reply(say("filter_none", language, names=_join([kb.cluster(c).name for c in shown], language)))
    clusters = [kb.cluster(c) for c in matching]
    heading = say("filter_heading_one" if len(clusters) == 1 else "filter_heading", language, count=len(clusters))
    listed = group(kb, clusters, language)  # with what each is about: "which of those do recycling?"
    return Reply(f"{heading}\n\n{listed.text}", listed.buttons, from_page=True)


def group(kb: KnowledgeBase, clusters: Sequence[Cluster], language: str) -> Reply:
    """Several clusters at once, a line each ("tell me about both")."""
    lines = [say("group_item", language, name=c.name, type=type_name(kb, c.type, language),
                 sector=sector_name(kb, c.sector, language), summary=c.summary.get(language)) for c in clusters]
    buttons = [button(say("button_details", language, name=c.name), "ask_cluster_info", cluster=c.id) for c in clusters]
    return Reply("\n\n".join(lines), buttons, from_page=True)


def cluster_count(kb: KnowledgeBase, cluster_type: Optional[str], language: str) -> Reply:
    """How many clusters of a type there are, or of each type."""
    if cluster_type:
        count = len(kb.clusters_of(cluster_type=cluster_type))
        return Reply(say("cluster_count", language, count=count, types=type_name(kb, cluster_type, language, plural=True)))
    parts = [f"{len(kb.clusters_of(cluster_type=t.id))} {type_name(kb, t.id, language, plural=True)}" for t in kb.cluster_types]
    return Reply(say("cluster_count_all", language, count=len(kb.clusters), parts=_join(parts, language)))


def group_check(kb: KnowledgeBase, clusters: Sequence[Cluster], cluster_type: Optional[str], sector: Optional[str],
                language: str) -> Reply:
    """Whether the clusters shown all have a type or a sector ("are both poles?"): yes, no, or
    which ones, then each one's type and sector."""
    fits = [c.name for c in clusters if cluster_type in (None, c.type) and sector in (None, c.sector)]
    verdict = "check_all" if len(fits) == len(clusters) else "check_some" if fits else "check_none"
    lines = [say(verdict, language, names=_join(fits, language))]
    lines += [say("check_line", language, name=c.name, type=type_name(kb, c.type, language),
                  sector=sector_name(kb, c.sector, language)) for c in clusters]
    buttons = [button(say("button_details", language, name=c.name), "ask_cluster_info", cluster=c.id) for c in clusters]
    return Reply("\n".join(lines), buttons)


def corrections(kb: KnowledgeBase, found: Sequence[Any], language: str) -> str:
    """The wrong premises of a question, corrected (kb.understand.premise_corrections)."""
    lines = []
    for correction in found:
        name = kb.cluster(correction.cluster).name if correction.cluster else ""
        if correction.kind == "type":
            lines.append(say("correction_type", language, name=name, actual=type_name(kb, correction.actual, language),
                             claimed=type_name(kb, correction.claimed, language)))
        elif correction.kind == "sector":
            lines.append(say("correction_sector", language, name=name, actual=sector_name(kb, correction.actual, language),
                             claimed=sector_name(kb, correction.claimed, language)))
        elif correction.kind == "year":
            lines.append(say("correction_year", language, name=name, actual=correction.actual, claimed=correction.claimed))
        else:
            lines.append(say("correction_count", language, actual=correction.actual, claimed=correction.claimed,
                             types=type_name(kb, correction.cluster_type, language, plural=True)))
    return "\n".join(lines)


def joined(replies: Sequence[Reply], lead: str = "") -> Reply:
    """Several answers as one reply (a question in several parts), after an optional lead line."""
    texts = ([lead] if lead else []) + [r.text for r in replies]
    buttons: List[Dict[str, str]] = []
    for reply in replies:
        buttons += [b for b in reply.buttons if b not in buttons]
    return Reply("\n\n".join(texts), buttons, from_page=any(r.from_page for r in replies))
