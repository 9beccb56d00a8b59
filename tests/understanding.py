"""The understanding evaluation (tests/data/unseen_questions.yml): conversations written from the
user's side, never trained on, each turn scored on meaning rather than exact text.

A turn's `expect` may hold:
- `first`: the first cluster the reply names; `in_top3`: among the first three it names;
- `names` / `not_names`: clusters that must / must not be named; `no_cluster`: none is named;
- `contains` / `any_of`: word fragments that must appear ("a|b": either), `absent`: that must not;
- the reply's language is always checked against the conversation's.
Fragments and names are compared after `kb.text.normalize` (case, accents, elisions).
"""

import re
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import yaml

from kb.language import detect_language
from kb.model import KnowledgeBase
from kb.text import normalize

CASES = Path(__file__).resolve().parent / "data" / "unseen_questions.yml"
KINDS = (
    "paraphrase", "unknown_fact", "disputed_fact", "unreachable_fact", "plain_fact", "list", "policy",
    "follow_up", "wrong_premise", "multi_part", "activity", "out_of_scope", "recommendation", "guided_form",
)
EXPECT_KEYS = {"first", "in_top3", "names", "not_names", "no_cluster", "contains", "any_of", "absent"}


@dataclass(frozen=True)
class Turn:
    user: str
    expect: Optional[dict]


@dataclass(frozen=True)
class Conversation:
    id: str
    kind: str
    language: str
    holdout: bool
    turns: Tuple[Turn, ...]


def load_cases(path: Path = CASES) -> List[Conversation]:
    conversations = []
    for raw in yaml.safe_load(path.read_text(encoding="utf-8"))["conversations"]:
        turns = tuple(Turn(str(t["user"]), t.get("expect")) for t in raw["turns"])
        conversations.append(Conversation(raw["id"], raw["kind"], raw["language"], bool(raw.get("holdout")), turns))
    return conversations


class ClusterNamer:
    """Which clusters a reply names, in order of first appearance: names and aliases, exactly
    (after normalisation), longest first so that "Infopole Cluster TIC" is one name."""

    def __init__(self, knowledge: KnowledgeBase):
        names = sorted(
            ((normalize(alias), c.id) for c in knowledge.clusters for alias in (c.name, *c.aliases) if normalize(alias)),
            key=lambda pair: -len(pair[0]),
        )
        self._patterns = [(re.compile(rf"(?<![\w+]){re.escape(name)}(?![\w+])"), cid) for name, cid in names]

    def named(self, text: str) -> List[str]:
        text = normalize(text)
        found: List[Tuple[int, str]] = []
        taken: List[Tuple[int, int]] = []
        for pattern, cluster_id in self._patterns:
            for match in pattern.finditer(text):
                if any(s < match.end() and match.start() < e for s, e in taken):
                    continue
                taken.append((match.start(), match.end()))
                found.append((match.start(), cluster_id))
        ordered: List[str] = []
        for _, cluster_id in sorted(found):
            if cluster_id not in ordered:
                ordered.append(cluster_id)
        return ordered


def reply_text(replies: Sequence[dict]) -> str:
    """The texts, then the button titles, as a user sees them."""
    texts = [r.get("text", "") for r in replies if r.get("text")]
    titles = [b.get("title", "") for r in replies for b in r.get("buttons") or []]
    return "\n".join(texts + titles)


def _fragment_found(fragment: str, text: str) -> bool:
    return any(normalize(option) in text for option in str(fragment).split("|") if normalize(option))


_LINKS = re.compile(r"\[[^\]]*\]\([^)]*\)|https?://\S+")


def check_turn(expect: dict, replies: Sequence[dict], language: str, namer: ClusterNamer,
               knowledge: KnowledgeBase) -> List[str]:
    """The problems of one reply against its expectation; empty when it passes."""
    problems = []
    unknown = set(expect) - EXPECT_KEYS
    if unknown:
        problems.append(f"unknown expectation keys {sorted(unknown)}")
    full = reply_text(replies)
    text = normalize(full)
    # The buttons' titles name clusters too, but the first cluster is the one the text leads with.
    named = namer.named("\n".join(r.get("text", "") for r in replies if r.get("text")))
    named += [c for c in namer.named(full) if c not in named]
    if not full.strip():
        return ["no reply"]
    if "first" in expect and (not named or named[0] != expect["first"]):
        problems.append(f"first cluster {named[:1]} is not {expect['first']}")
    if "in_top3" in expect and expect["in_top3"] not in named[:3]:
        problems.append(f"{expect['in_top3']} not among the first three {named[:3]}")
    for cluster_id in expect.get("names") or []:
        if cluster_id not in named:
            problems.append(f"{cluster_id} not named")
    for cluster_id in expect.get("not_names") or []:
        if cluster_id in named:
            problems.append(f"{cluster_id} named")
    if expect.get("no_cluster") and named:
        problems.append(f"names clusters {named}")
    for fragment in list(expect.get("contains") or []) + list(expect.get("any_of") or []):
        if not _fragment_found(fragment, text):
            problems.append(f"lacks {fragment!r}")
    for fragment in expect.get("absent") or []:
        if _fragment_found(fragment, text):
            problems.append(f"has {fragment!r}")
    names = tuple(alias for c in knowledge.clusters for alias in (c.name, *c.aliases))
    said = "\n".join(r.get("text", "") for r in replies if r.get("text"))
    said = _LINKS.sub(" ", said)  # a source's link ("[skywin.be](https://…)") is in no language
    if detect_language(said, names) != language:
        problems.append(f"reply not in {language}")
    return problems


@dataclass
class TurnResult:
    conversation: Conversation
    index: int
    problems: List[str]
    reply: str


@dataclass
class Report:
    results: List[TurnResult] = field(default_factory=list)

    def accuracy(self, keep: Callable[[TurnResult], bool] = lambda r: True) -> Tuple[int, int]:
        chosen = [r for r in self.results if keep(r)]
        return sum(1 for r in chosen if not r.problems), len(chosen)

    def table(self, keep: Callable[[TurnResult], bool] = lambda r: True) -> Dict[str, Dict[str, Tuple[int, int]]]:
        """{kind: {"en": (passed, turns), "fr": …, "all": …}}, plus an "all" kind."""
        counts: Dict[str, Dict[str, List[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
        for result in self.results:
            if not keep(result):
                continue
            for kind in (result.conversation.kind, "all"):
                for language in (result.conversation.language, "all"):
                    cell = counts[kind][language]
                    cell[0] += not result.problems
                    cell[1] += 1
        return {k: {l: tuple(v) for l, v in row.items()} for k, row in counts.items()}


def run(conversations: Iterable[Conversation], say: Callable[[str, str], List[dict]],
        knowledge: KnowledgeBase) -> Report:
    """Plays each conversation with a new sender and scores its turns that have an `expect`."""
    namer = ClusterNamer(knowledge)
    report = Report()
    for conversation in conversations:
        sender = f"eval-{uuid.uuid4().hex[:12]}"
        for index, turn in enumerate(conversation.turns):
            replies = say(sender, turn.user)
            if turn.expect is None:
                continue
            problems = check_turn(turn.expect, replies, conversation.language, namer, knowledge)
            report.results.append(TurnResult(conversation, index, problems, reply_text(replies)))
    return report


def format_table(table: Dict[str, Dict[str, Tuple[int, int]]]) -> str:
    def cell(value: Optional[Tuple[int, int]]) -> str:
        if not value or not value[1]:
            return "—"
        return f"{100 * value[0] / value[1]:.1f} % ({value[0]}/{value[1]})"

    lines = ["| kind | English | French | all |", "|---|---:|---:|---:|"]
    for kind in [k for k in KINDS if k in table] + ["all"]:
        row = table.get(kind, {})
        lines.append(f"| {kind} | {cell(row.get('en'))} | {cell(row.get('fr'))} | {cell(row.get('all'))} |")
    return "\n".join(lines)
