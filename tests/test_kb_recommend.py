"""The cluster recommendation (kb/recommend/): accuracy on the written cases, reasons that are
real matches, determinism and page-order ties, bonuses that only break near-ties, vague texts,
French, no Rasa import, and an index built once."""

import dataclasses
import difflib
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from kb.model import ItemList, Text
from kb.recommend import GOALS, ORGANISATION_TYPES, ClusterRanker, Reason, Recommendation, is_vague
from kb.recommend.ranking import MAX_BONUS, RUNNER_UP_SHARE
from kb.text import normalize
from scripts.evaluate_recommendations import DEFAULT_CASES, evaluate, load_cases

ROOT = Path(__file__).resolve().parent.parent
CASES = load_cases(DEFAULT_CASES)


@pytest.fixture(scope="module")
def ranker(knowledge):
    return ClusterRanker(knowledge)


def all_texts():
    return [case["text"] for case in CASES["cases"]]


# ----- the cases file and the evaluation ------------------------------------------------------

def test_the_cases_cover_every_cluster_in_both_languages(knowledge, ranker):
    cases = CASES["cases"]
    assert len(cases) >= 96 and len(CASES["vague"]) >= 10
    ids = {c.id for c in knowledge.clusters}
    counts = Counter(cluster_id for case in cases for cluster_id in case["expected"])
    assert set(counts) <= ids
    assert all(counts[cluster_id] >= 5 for cluster_id in ids), counts
    french = sum(1 for case in cases if ranker.analyzer.language_order(case["text"])[0] == "fr")
    assert 0.35 <= french / len(cases) <= 0.6
    for case in cases:
        assert case.get("organisation_type") in (None, *ORGANISATION_TYPES)
        assert case.get("goal") in (None, *GOALS)


def test_the_evaluation_passes_its_thresholds(ranker):
    result = evaluate(DEFAULT_CASES, ranker)
    details = "\n".join(result.misses + result.false_vague + result.missed_vague)
    assert result.top1_accuracy >= 0.95, details  # the script's own minimum is 90 %
    assert result.top3_accuracy >= 0.98, details
    assert not result.false_vague and not result.missed_vague, details
    assert result.passed


def test_the_evaluation_script_runs_and_fails_on_a_bad_case(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    script = ROOT / "scripts" / "evaluate_recommendations.py"
    bad = tmp_path / "cases.yml"
    bad.write_text(
        "cases:\n  - {text: we make vaccines, expected: [twist]}\nvague: [we make vaccines]\n", encoding="utf-8"
    )
    run = subprocess.run([sys.executable, str(script), "--cases", str(bad)], capture_output=True, text=True, env=env)
    assert run.returncode == 1
    assert "top-1 miss: 'we make vaccines'" in run.stdout and "not judged vague" in run.stdout


# ----- the result ------------------------------------------------------------------------------

def test_matches_are_ordered_close_runners_up_at_most_three(ranker):
    for text in all_texts():
        result = ranker.rank(text)
        scores = [m.score for m in result.matches]
        assert 1 <= len(scores) <= 3
        assert scores == sorted(scores, reverse=True)
        assert all(score >= RUNNER_UP_SHARE * scores[0] - 1e-6 for score in scores)
        assert len({m.cluster_id for m in result.matches}) == len(scores)


def _shares_text(term: str, item: Text) -> bool:
    """`term` (normalised) is a word of the item, starts like one of its words (3 letters:
    "make" / "making"), or shares 4 letters in a row with one (inflections, compounds:
    "recycling" / "recyclage", "nanosatellites" / "satellite")."""
    words = normalize(f"{item.en} {item.fr}").split()

    def close(part: str, word: str) -> bool:
        if part[:3] == word[:3]:
            return True
        common = difflib.SequenceMatcher(None, part, word).find_longest_match(0, len(part), 0, len(word)).size
        return common >= min(4, len(part), len(word))

    return all(part in words or any(close(part, word) for word in words) for part in normalize(term).split())


def test_each_reason_is_a_real_match(ranker):
    requests = [(case["text"], case.get("organisation_type"), case.get("goal")) for case in CASES["cases"]]
    requests += [(text, organisation_type, goal) for text in all_texts()[:20]
                 for organisation_type, goal in (("research", "rnd"), ("company", "network"), ("training", None))]
    checked = 0
    for text, organisation_type, goal in requests:
        lowered = text.casefold()
        for match in ranker.rank(text, organisation_type, goal).matches:
            assert match.reasons, (text, match.cluster_id)
            kinds = [reason.kind for reason in match.reasons]
            assert kinds[0] in ("page", "keyword"), (text, match)  # the activity explains first
            for reason in match.reasons:
                assert isinstance(reason.item, Text) and reason.terms
                if reason.kind == "member_type":  # the words that state such members are in its text
                    assert reason.field in ("members", "description")
                    stated = normalize(f"{reason.item.en} {reason.item.fr}")
                    assert all(normalize(term) in stated for term in reason.terms), (text, reason)
                    continue
                if reason.kind == "goal":
                    assert (reason.field, reason.terms) == ("type", (goal,))
                    continue
                assert (reason.kind, reason.field) in {
                    ("keyword", "keywords"), ("page", "description"), ("page", "strategy"),
                    ("page", "members"), ("page", "scope"),
                }
                item_terms = ranker.item_terms(reason.item)
                for term in reason.terms:
                    assert term == term.casefold() and term in lowered, (text, reason)
                    assert ranker.terms_of(term, context=text) & item_terms, (text, term, reason.item)
                    assert _shares_text(term, reason.item), (text, term, reason.item)
                    checked += 1
    assert checked > 300


def test_a_keyword_reason_gives_the_keyword_and_its_translation_when_both_match(ranker):
    match = ranker.rank("we make vaccines").matches[0]
    assert match.cluster_id == "biowin"
    assert match.reasons[0] == Reason("keyword", "keywords", Text(en="vaccine", fr="vaccin"), ("vaccines",))


def test_same_input_same_output(knowledge, ranker):
    other = ClusterRanker(knowledge)
    for text in all_texts()[:40] + CASES["vague"]:
        first = ranker.rank(text, "company", "rnd")
        assert ranker.rank(text, "company", "rnd") == first
        assert other.rank(text, "company", "rnd") == first


def _twins(knowledge, source_id, order_a, order_b, **changes_b):
    """The knowledge base with two identical copies of one cluster in place of it."""
    source = knowledge.cluster(source_id)
    twin_a = dataclasses.replace(source, id="twin-a", name="Twin A", aliases=(), order=order_a)
    twin_b = dataclasses.replace(source, id="twin-b", name="Twin B", aliases=(), order=order_b, **changes_b)
    others = [c for c in knowledge.clusters if c.id != source_id]
    clusters = sorted(others + [twin_a, twin_b], key=lambda c: (c.order, c.id))
    return dataclasses.replace(knowledge, clusters=tuple(clusters))


def test_equal_scores_keep_page_order(knowledge):
    for first, second in ((1, 2), (2, 1)):
        ranker = ClusterRanker(_twins(knowledge, "biowin", order_a=first * 100, order_b=second * 100))
        result = ranker.rank("we make vaccines and antibodies")
        a, b = result.matches[0], result.matches[1]
        assert a.score == b.score
        expected = ["twin-a", "twin-b"] if first < second else ["twin-b", "twin-a"]
        assert [a.cluster_id, b.cluster_id] == expected


# ----- organisation type and goal ------------------------------------------------------------

def test_the_goal_and_the_member_type_break_an_exact_tie(knowledge):
    source = knowledge.cluster("biowin")  # a competitiveness cluster
    research = ItemList(label=Text(en="members", fr="membres"),
                        items=(Text(en="research centres", fr="centres de recherche"),))
    kb = _twins(knowledge, "biowin", order_a=100, order_b=200, type="business", members=research)
    ranker = ClusterRanker(kb)
    text = "we make vaccines"
    assert [m.cluster_id for m in ranker.rank(text).matches[:2]] == ["twin-a", "twin-b"]  # page order
    assert source.type == "competitiveness"
    assert [m.cluster_id for m in ranker.rank(text, goal="rnd").matches[:2]] == ["twin-a", "twin-b"]
    assert [m.cluster_id for m in ranker.rank(text, goal="network").matches[:2]] == ["twin-b", "twin-a"]
    by_research = ranker.rank(text, organisation_type="research").matches
    assert [m.cluster_id for m in by_research[:2]] == ["twin-b", "twin-a"]
    reason = next(r for r in by_research[0].reasons if r.kind == "member_type")
    assert reason.item == Text(en="research centres", fr="centres de recherche")
    assert by_research[0].reasons.index(reason) <= 2  # shown in a three-reason explanation


@pytest.mark.parametrize("organisation_type", ORGANISATION_TYPES)
def test_bonuses_only_reorder_near_ties(ranker, organisation_type):
    for text in all_texts():
        plain = dict(ranker.scores(text))
        plain_order = [cluster_id for cluster_id, _ in ranker.scores(text)]
        for goal in GOALS:
            boosted = ranker.scores(text, organisation_type, goal)
            for cluster_id, score in boosted:  # nothing from nothing, and at most MAX_BONUS more
                assert plain[cluster_id] - 1e-9 <= score <= plain[cluster_id] * (1 + MAX_BONUS) + 1e-9
            order = [cluster_id for cluster_id, _ in boosted]
            for i, upper in enumerate(order):
                for lower in order[i + 1:]:
                    if plain_order.index(upper) > plain_order.index(lower):  # the bonus swapped them
                        assert plain[upper] * (1 + MAX_BONUS) >= plain[lower] - 1e-9, (text, upper, lower)
            assert ranker.rank(text, organisation_type, goal).vague is False


def test_a_bonus_never_beats_a_clear_match(ranker):
    # Whatever the answers, a clear activity keeps its cluster first (BioWin is a competitiveness
    # cluster, Plastiwin a business cluster: each goal favours the other one's type in turn).
    for organisation_type in ORGANISATION_TYPES:
        for goal in GOALS:
            for text, expected in (("we make vaccines", "biowin"), ("injection moulding of plastic parts", "plastiwin")):
                assert ranker.rank(text, organisation_type, goal).matches[0].cluster_id == expected


# ----- vague texts ----------------------------------------------------------------------------

@pytest.mark.parametrize("text", CASES["vague"] + ["", "   ", "?!", "we", "Wallonia", "cluster", "les entreprises"])
def test_vague_texts(ranker, text):
    result = ranker.rank(text)
    assert result == Recommendation(matches=(), vague=True)
    assert ranker.is_vague(text) and is_vague(text, ranker)


def test_a_bonus_alone_is_no_match(ranker):
    assert ranker.rank("a company", "research", "rnd").vague


# ----- languages and spelling -----------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("Nous recyclons les déchets ménagers", "val-plus"),
    ("NOUS RECYCLONS LES DECHETS MENAGERS", "val-plus"),
    ("nous fabriquons des médicaments", "biowin"),
    ("nous fabriquons des medicaments", "biowin"),
    ("on fait de l'injection de pièces plastiques", "plastiwin"),
    ("brasserie artisanale", "wagralim"),
    ("installation de panneaux photovoltaïques", "tweed"),
    ("conception de logiciels pour les hôpitaux", "infopole-cluster-tic"),
    ("Nous concevons des avions", "skywin"),
    ("studio d'animation et de jeux vidéo", "twist"),
])
def test_french(ranker, text, expected):
    assert ranker.rank(text).matches[0].cluster_id == expected


@pytest.mark.parametrize("text, expected", [
    ("we make vacines", "biowin"),
    ("logisitcs and warehousing", "logistics-in-wallonia"),
    ("photonicss research", "cluster-photonique"),
    ("we build nanosatellites", "skywin"),
    ("rotomoulded tanks", "plastiwin"),
    ("bio based solvents", "greenwin"),
])
def test_misspellings_and_compounds(ranker, text, expected):
    assert ranker.rank(text).matches[0].cluster_id == expected


def test_an_acronym_in_capitals_is_not_a_stop_word(ranker):
    assert ranker.rank("we do IT").matches[0].cluster_id == "infopole-cluster-tic"
    assert ranker.rank("we do it").vague


# ----- engineering ----------------------------------------------------------------------------

def test_the_module_imports_nothing_from_rasa():
    code = (
        "import sys\n"
        "import kb.recommend\n"
        "from kb import load_knowledge\n"
        "ranker = kb.recommend.ClusterRanker(load_knowledge())\n"
        "assert ranker.rank('we make vaccines').matches[0].cluster_id == 'biowin'\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('rasa', 'rasa_sdk'))\n"
        "assert not bad, bad\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-2000:]
    for module in sorted((ROOT / "kb" / "recommend").glob("*.py")):
        source = module.read_text(encoding="utf-8")
        assert "rasa" not in source.lower().replace("no rasa import", ""), module


def test_the_index_is_built_once(knowledge, monkeypatch):
    ranker = ClusterRanker(knowledge)

    def refuse(*args, **kwargs):
        raise AssertionError("rank() analysed the knowledge again")

    for name in ("_build", "_keyword", "_text_keys", "_background_frequency", "_organisation_strengths"):
        monkeypatch.setattr(ranker.index, name, refuse)
    monkeypatch.setattr(ranker.analyzer, "document_words", refuse)
    monkeypatch.setattr("kb.recommend.index.KnowledgeIndex.__init__", refuse)
    monkeypatch.setattr("kb.recommend.analysis.Analyzer.__init__", refuse)
    for text in all_texts():
        ranker.rank(text, "research", "rnd")


# ----- how the reasons are told ---------------------------------------------------------------

def _requests():
    return [(case["text"], case.get("organisation_type"), case.get("goal")) for case in CASES["cases"]]


def test_a_page_fact_is_told_before_a_keyword(ranker):
    told_page = 0
    for text, organisation_type, goal in _requests():
        for match in ranker.rank(text, organisation_type, goal).matches:
            activity = [r for r in match.reasons if r.kind in ("page", "keyword")]
            if any(r.kind == "page" for r in activity):
                assert match.reasons[0].kind == "page", (text, match)
                told_page += 1
            member = [r for r in match.reasons if r.kind == "member_type"]
            if member:  # the member type is told second
                assert match.reasons.index(member[0]) == 1, (text, match)
            partial = [r.partial for r in match.reasons if r.kind in ("page", "keyword")]
            assert partial == sorted(partial) or not partial[0], (text, match)  # parts of keywords last
    assert told_page > 50


def test_reasons_quote_only_the_users_words_and_the_pages_text(ranker):
    for text, organisation_type, goal in _requests():
        for match in ranker.rank(text, organisation_type, goal).matches:
            for reason in match.reasons:
                for words in reason.said:
                    assert words.casefold() in text.casefold(), (text, reason)
                if reason.kind == "keyword":
                    assert reason.said and reason.passage is None, (text, reason)
                if reason.kind in ("page", "member_type"):
                    for language in ("en", "fr"):
                        passage = reason.passage.get(language)
                        for piece in passage.split("…"):
                            assert piece.strip() in reason.item.get(language), (text, language, passage)


def test_a_word_the_user_wrote_is_told_not_a_keyword_that_shares_its_stem(ranker):
    match = ranker.rank("nous fabriquons des lasers industriels").matches[0]
    assert match.cluster_id == "cluster-photonique"
    part = next(r for r in match.reasons if r.terms == ("industriels",))
    assert part.partial and part.said == ("industriels",)  # "vision industrielle" is never said
    assert match.reasons.index(part) > 0


def test_close_words_of_the_user_are_one_phrase():
    from kb.recommend.excerpt import user_phrases

    assert user_phrases("livraison de colis en ville", ("livraison", "colis")) == ("livraison de colis",)
    assert user_phrases("power lines and wind turbines", ("power", "wind")) == ("power", "wind")
    assert user_phrases("Fonderie pour l'automobile, PVC", ("fonderie", "pvc")) == ("fonderie", "PVC")


def test_a_passage_is_the_clause_of_the_matched_words():
    from kb.recommend.excerpt import passage

    short = "Design of new products (energy storage, durable buildings…)"
    assert passage(short, lambda w: w == "buildings") == short
    long = ("Skywin established a sound strategy, focusing on 3 major axes: beside the “More intelligent” – aiming at "
            "developing technological niches – one also finds the “More composites” axis which aims at lighter components.")
    assert passage(long, lambda w: w == "composites") == "…one also finds the “More composites” axis which aims at lighter components"
    assert passage("“More composites” – aiming at meeting the market demand in terms of yet lighter components or "
                   "increased performance in the structures", lambda w: w == "composites") == "“More composites”…"
    assert passage(long, lambda w: w == "absent") is None
