"""Every enumeration of the source page, written out here from the page itself, is in the
knowledge base and in the assistant's answer about it."""

import pytest

from actions.actions import ActionAnswerCluster, ActionAnswerPolicy, ActionListClusters, ActionListSectors
from tests.actions_support import entities_from, run, text_of, tracker_for

# (cluster id, the attribute asked, the items as the page words them)
PAGE_ENUMERATIONS = [
    ("skywin", "strategy", ["More intelligent", "More applications and services", "More composites"]),
    ("biowin", "strategy", [
        "Biomarkers + in vitro & in vivo diagnostic", "Innovative tools and instrumentation", "Drug delivery systems",
        "Novel therapies", "Information technologies applied to human health",
        "Innovative processes and organisational innovations", "Medical devices", "Drug discovery",
    ]),
    ("wagralim", "strategy", [
        "“Health” foods/Nutritional quality", "Industrial efficiency", "Packaging",
        "Development of durable networks in the agro-industry",
    ]),
    ("mecatech", "strategy", [
        "Materials and surfaces of the future", "Comprehensive forming technologies",
        "Microtechnologies and mechatronics", "Intelligent maintenance",
    ]),
    ("greenwin", "strategy", [
        "Design of new products based on renewable (bio-sourced) or recycled raw materials",
        "Design of new products and systems applied to energy management (energy storage, durable buildings…)",
        "Design of new techniques for re-using / recycling end of life products and systems as well as using landfills as a new source for raw materials",
    ]),
    ("twist", "strategy", [
        "stereoscopic 3D", "Internet/Mobile Content", "Digital Archiving", "Serious Game", "Motion Capture", "Digital Signage",
    ]),
    ("infopole-cluster-tic", "strategy", ["eHealth", "Intelligent Transport Systems", "ICT for Green", "eGov"]),
    ("plastiwin", "members", [
        "The manufacturers of raw materials, masterbatches, dyes and various additives",
        "The mould makers, designers, manufacturers of tools",
        "The plastics processors active in the injection moulding, extrusion, blowing, thermoforming, but also in machining, cutting, bending, surface treatment and retailers",
    ]),
    ("val-plus", "members", [
        "high skilled industrial companies", "experts", "research centres",
        "domestic wastes", "industrial wastes", "green wastes", "construction wastes", "hospital wastes", "asbestos",
        "sludges", "polluted soils and groundwater", "electric & electronic equipment wastes",
    ]),
    ("eco-building", "members", [
        "architects", "infrared thermography and electromagnetic pollution specialists", "builders",
        "companies active in the green renovation sector", "manufacturers", "green building materials suppliers",
        "green electricians", "companies active in the field of renewable energy",
        "building contractors specialised in water treatment by lagooning, natural pools installation, rainwater treatment and recovery",
    ]),
    ("cap-2020", "members", ["Contractors", "Architects", "Producers and Suppliers of materials and services"]),
    ("cluster-photonique", "members", ["enterprises", "research", "training centres"]),
]
OPEN_LISTS = [("val-plus", "scope"), ("eco-building", "members")]
COMPETITIVENESS_FIELDS = [
    "life sciences", "agrifood", "transport-logistics", "mechanical engineering", "aeronautics-space",
    "environmental technologies",
]
INTENT_BY_ATTRIBUTE = {"strategy": "ask_cluster_strategy", "members": "ask_cluster_members"}


def _normal(text: str) -> str:
    return " ".join(text.replace("’", "'").split()).casefold()


def _knowledge_items(cluster, attribute):
    lists = [cluster.strategy] if attribute == "strategy" else [cluster.members, cluster.scope]
    return [item.en for items in lists if items for item in items.items]


@pytest.mark.parametrize("cluster_id, attribute, expected", PAGE_ENUMERATIONS, ids=[e[0] for e in PAGE_ENUMERATIONS])
def test_page_enumeration_is_complete_and_answered(knowledge, matcher, cluster_id, attribute, expected):
    cluster = knowledge.cluster(cluster_id)
    items = [_normal(i) for i in _knowledge_items(cluster, attribute)]
    text = f"{attribute} of {cluster.name}"
    answer = _normal(text_of(run(ActionAnswerCluster(), tracker_for(text, INTENT_BY_ATTRIBUTE[attribute], entities=entities_from(matcher, text)))[0]))
    for phrase in expected:
        assert any(_normal(phrase) in item for item in items), f"{cluster_id}: '{phrase}' missing from knowledge"
        assert _normal(phrase) in answer, f"{cluster_id}: '{phrase}' missing from the answer"


def test_strategy_counts_match_the_page(knowledge):
    counts = {c.id: len(c.strategy.items) for c in knowledge.clusters if c.strategy}
    assert {k: counts[k] for k in ("skywin", "biowin", "wagralim", "mecatech", "greenwin", "twist", "infopole-cluster-tic")} == {
        "skywin": 3, "biowin": 8, "wagralim": 4, "mecatech": 4, "greenwin": 3, "twist": 6, "infopole-cluster-tic": 4,
    }


@pytest.mark.parametrize("cluster_id, attribute", OPEN_LISTS)
def test_lists_the_page_leaves_open_are_open(knowledge, cluster_id, attribute):
    assert getattr(knowledge.cluster(cluster_id), attribute).open


def test_every_cluster_paragraph_is_on_the_page_word_for_word(knowledge):
    from pathlib import Path

    page = _normal((Path(__file__).resolve().parent.parent / "docs" / "source-page.txt").read_text(encoding="utf-8"))
    page = page.replace("companiesthat", "companies that")
    for cluster in knowledge.clusters:
        assert _normal(cluster.description.en) in page, cluster.id


def test_the_fourteen_clusters_by_type_and_sector(knowledge):
    poles = {"Logistics in Wallonia", "Skywin", "GreenWin", "BioWin", "WagrALIM", "MecaTech"}
    business = {"CAP 2020", "Eco-building", "TWEED", "Val+", "Infopole Cluster TIC", "Cluster Photonique", "Plastiwin", "TWIST"}
    assert {c.name for c in knowledge.clusters if c.type == "competitiveness"} == poles
    assert {c.name for c in knowledge.clusters if c.type == "business"} == business
    by_sector = {s.name.en: [c.name for c in knowledge.clusters_of(sector=s.id)] for s in knowledge.sectors}
    assert by_sector == {
        "Mobility and Transport": ["Logistics in Wallonia", "Skywin"],
        "Environment and Sustainable Development": ["CAP 2020", "Eco-building", "GreenWin", "TWEED", "Val+"],
        "Food – Health": ["BioWin", "WagrALIM"],
        "Transversal Technologies": ["Infopole Cluster TIC", "MecaTech", "Cluster Photonique", "Plastiwin", "TWIST"],
    }


def test_the_six_competitiveness_fields_are_answered(knowledge):
    topic = knowledge.topics["competitiveness_fields"]
    assert [i.en for i in topic.list.items] == COMPETITIVENESS_FIELDS
    answer = text_of(run(ActionAnswerPolicy(), tracker_for("how many poles", "ask_policy_competitiveness_fields"))[0])
    assert all(field in answer for field in COMPETITIVENESS_FIELDS)


@pytest.mark.parametrize(
    "intent, phrases",
    [
        ("ask_policy_history", ["2001", "2005"]),
        ("ask_policy_clustering", ["company networks", "source of innovation"]),
        ("ask_policy_aim", ["critical mass", "standard of excellence", "European and international stage"]),
        ("ask_policy_marshall_plan", ["Marshall Plan", "sustainable"]),
        ("ask_policy_sixth_cluster", ["6th competitiveness cluster", "new environmental technologies", "GreenWin"]),
    ],
)
def test_policy_facts_of_the_page_are_answered(intent, phrases):
    answer = text_of(run(ActionAnswerPolicy(), tracker_for("policy", intent))[0])
    for phrase in phrases:
        assert phrase in answer, phrase


def test_lists_of_clusters_and_sectors_name_everything(knowledge):
    listing = text_of(run(ActionListClusters(), tracker_for("all clusters", "list_clusters"))[0])
    sectors = text_of(run(ActionListSectors(), tracker_for("sectors", "list_sectors"))[0])
    for cluster in knowledge.clusters:
        assert cluster.name in listing and cluster.name in sectors
