"""Measures the cluster recommendation (kb/recommend/) on the test cases: top-1 and top-3 accuracy, vague detection, every miss.

Usage: python scripts/evaluate_recommendations.py [--cases PATH]

Exits 1 when top-1 < 90 %, top-3 < 98 %, a vague text is not judged vague, or a case is.
"""

import argparse
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional

import yaml

ROOT = Path(__file__).resolve().parent.parent

from kb.loader import load_knowledge
from kb.recommend import ClusterRanker

DEFAULT_CASES = ROOT / "tests" / "data" / "recommendation_cases.yml"
MIN_TOP1 = 0.90
MIN_TOP3 = 0.98


@dataclass
class Evaluation:
    cases: int = 0
    top1: int = 0
    top3: int = 0
    vague_texts: int = 0
    vague_right: int = 0
    misses: List[str] = field(default_factory=list)  # one line per miss
    false_vague: List[str] = field(default_factory=list)  # cases judged vague
    missed_vague: List[str] = field(default_factory=list)  # vague texts not judged vague
    seconds_per_call: float = 0.0

    @property
    def top1_accuracy(self) -> float:
        return self.top1 / self.cases if self.cases else 0.0

    @property
    def top3_accuracy(self) -> float:
        return self.top3 / self.cases if self.cases else 0.0

    @property
    def vague_accuracy(self) -> float:
        return self.vague_right / self.vague_texts if self.vague_texts else 1.0

    @property
    def passed(self) -> bool:
        return (
            self.top1_accuracy >= MIN_TOP1
            and self.top3_accuracy >= MIN_TOP3
            and not self.false_vague
            and not self.missed_vague
        )


def load_cases(path: Path = DEFAULT_CASES) -> dict:
    with Path(path).open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def evaluate(path: Path = DEFAULT_CASES, ranker: Optional[ClusterRanker] = None) -> Evaluation:
    data = load_cases(path)
    ranker = ranker or ClusterRanker(load_knowledge())
    result = Evaluation()
    started, calls = time.perf_counter(), 0
    for case in data.get("cases", []):
        result.cases += 1
        expected = case["expected"]
        recommendation = ranker.rank(case["text"], case.get("organisation_type"), case.get("goal"))
        calls += 1
        got = [m.cluster_id for m in recommendation.matches]
        shown = ", ".join(f"{m.cluster_id} {m.score:.2f}" for m in recommendation.matches) or "(none)"
        if recommendation.vague:
            result.false_vague.append(f"judged vague: {case['text']!r} (expected {expected})")
        if got[:1] and got[0] in expected:
            result.top1 += 1
        else:
            result.misses.append(f"top-1 miss: {case['text']!r}\n    expected {expected}, got {shown}")
        if any(cluster_id in expected for cluster_id in got[:3]):
            result.top3 += 1
        else:
            result.misses.append(f"top-3 miss: {case['text']!r}")
    for text in data.get("vague", []):
        result.vague_texts += 1
        recommendation = ranker.rank(text)
        calls += 1
        if recommendation.vague:
            result.vague_right += 1
        else:
            shown = ", ".join(f"{m.cluster_id} {m.score:.2f}" for m in recommendation.matches)
            result.missed_vague.append(f"not judged vague: {text!r} (got {shown})")
    result.seconds_per_call = (time.perf_counter() - started) / max(calls, 1)
    return result


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=Path, default=DEFAULT_CASES, help="the cases file (YAML)")
    args = parser.parse_args(argv)
    result = evaluate(args.cases)
    for line in result.misses + result.false_vague + result.missed_vague:
        print(line)
    print(f"cases: {result.cases}, vague texts: {result.vague_texts}")
    print(f"top-1 accuracy: {result.top1_accuracy:.1%} ({result.top1}/{result.cases}), minimum {MIN_TOP1:.0%}")
    print(f"top-3 accuracy: {result.top3_accuracy:.1%} ({result.top3}/{result.cases}), minimum {MIN_TOP3:.0%}")
    print(f"vague detection: {result.vague_accuracy:.1%} ({result.vague_right}/{result.vague_texts}), "
          f"cases judged vague: {len(result.false_vague)}")
    print(f"time per rank(): {result.seconds_per_call * 1000:.2f} ms")
    print("PASS" if result.passed else "FAIL")
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main())
