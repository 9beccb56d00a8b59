"""Sources a person can open: every reply that states a supplementary fact names its sources as
knowledge/sources.yml shows them (linked where an address is known) with the month they were
checked, and no file name of the project ever reaches a user."""

import re

import pytest

from actions import render
from kb.model import Fact
from tests.servers import project_file_name

LANGUAGES = ("en", "fr")
ATTRIBUTES = ("strategy", "members", "sector", "type", "website", "founded", "french_name", "notes")


def every_reply(knowledge, language):
    """(what, text) for each cluster overview and attribute, each cluster's notes said on their own
    and beside an unknown fact, the founding order, and each policy topic whole and paragraph by
    paragraph."""
    for cluster in knowledge.clusters:
        yield f"{cluster.id} overview", render.cluster_overview(knowledge, cluster, language).text
        for attribute in ATTRIBUTES:
            yield f"{cluster.id} {attribute}", render.cluster_attribute(knowledge, cluster, attribute, language).text
        for attribute in ("members", "founded"):
            text = render.cluster_attribute(knowledge, cluster, attribute, language, notes=cluster.notes).text
            yield f"{cluster.id} {attribute} with notes", text
        yield f"{cluster.id} unknown fact", render.unknown_fact(knowledge, cluster, "budget", language, cluster.notes).text
    dated = [c.id for c in knowledge.clusters if c.founded]
    undated = [c.id for c in knowledge.clusters if not c.founded]
    yield "ordering", render.ordering(knowledge, dated, undated, "oldest", language, lambda c: "2006").text
    for topic in knowledge.topics.values():
        yield f"topic {topic.id}", render.topic(knowledge, topic, language).text
        for index in range(len(topic.paragraphs)):
            yield f"topic {topic.id} [{index}]", render.topic(knowledge, topic, language, only=[index]).text


def every_fact(knowledge):
    for cluster in knowledge.clusters:
        yield from (f for f in (cluster.french_name, cluster.website, cluster.founded, *cluster.notes) if f)
    for cluster_type in knowledge.cluster_types:
        yield from cluster_type.notes
    for topic in knowledge.topics.values():
        yield from topic.paragraphs
        if topic.list:
            yield Fact(topic.list.label, topic.list.sources, topic.list.as_of)


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_project_file_name_in_any_reply(knowledge, language):
    file_name = project_file_name()
    assert all(file_name.search(n) for n in ("render.py", "skywin.yml", "supplementary-facts.md"))
    replies = list(every_reply(knowledge, language))
    assert len(replies) > 14 * len(ATTRIBUTES) + len(knowledge.topics)
    for what, text in replies:
        assert not file_name.search(text), (what, file_name.search(text).group(), text)
        assert not re.search(r"\.(md|ya?ml|txt)\b", text), (what, text)
        assert not re.search(r"\b\d{4}-\d{2}\b", text), (what, text)  # an as-of month is said in words


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_source_line_names_its_sources_their_links_and_month(knowledge, language):
    facts = [f for f in every_fact(knowledge) if not f.from_page]
    assert len(facts) > 50
    month = {"en": "November 2026", "fr": "novembre 2026"}[language]
    for fact in facts:
        note = render.fact_note(fact, language)
        assert month in note, note
        for source in fact.sources:
            name = source.name.get(language)
            assert (f"[{name}]({source.url})" if source.url else name) in note, (source.id, note)


def test_a_source_line_as_a_person_reads_it(knowledge):
    skywin = knowledge.cluster("skywin")
    assert render.fact_note(skywin.website, "en") == "(source: [skywin.be](https://www.skywin.be), as of November 2026)"
    assert render.fact_note(skywin.website, "fr") == "(source : [skywin.be](https://www.skywin.be), novembre 2026)"
    founded = render.fact_note(knowledge.cluster("biowin").founded, "fr")
    assert founded.startswith("(sources : Union wallonne des entreprises (UWE), ")
    assert founded.endswith(" et aca-secretariat.be, novembre 2026 ; les sources divergent)")
    val_plus = render.cluster_attribute(knowledge, knowledge.cluster("val-plus"), "notes", "en").text
    assert "(source: a written answer of the Parliament of Wallonia (document 25657), as of November 2026)" in val_plus


def test_every_supplementary_source_is_named_by_some_fact(knowledge):
    named = {s.id for f in every_fact(knowledge) for s in f.sources}
    assert named == set(knowledge.sources.supplementary)
