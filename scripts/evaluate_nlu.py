"""Cross-validates the NLU (5 folds, the FallbackClassifier left out as it hides confusions) and
reports intent and entity F1 overall and per language (data/nlu/en vs data/nlu/fr).

Usage: python scripts/evaluate_nlu.py [--folds 5] [--config config.yml] [--out var/nlu-evaluation]
"""

import argparse
import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import yaml
from sklearn.metrics import f1_score

ROOT = Path(__file__).resolve().parent.parent


def config_without_fallback(config: Path, target: Path) -> Path:
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    data["pipeline"] = [c for c in data["pipeline"] if c["name"] != "FallbackClassifier"]
    target.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return target


def texts_by_language() -> dict:
    from rasa.shared.nlu.training_data.loading import load_data

    languages = {}
    for language in ("en", "fr"):
        for example in load_data(str(ROOT / "data" / "nlu" / language)).intent_examples:
            languages[example.get("text")] = language
    return languages


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--config", type=Path, default=ROOT / "config.yml")
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "nlu-evaluation")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    config = config_without_fallback(args.config, args.out / "config.yml")
    subprocess.run(
        [str(ROOT / ".venv" / "bin" / "rasa"), "test", "nlu", "--nlu", str(ROOT / "data" / "nlu"),
         "--config", str(config), "--cross-validation", "--folds", str(args.folds),
         "--successes", "--out", str(args.out)],
        check=True, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    predictions = []
    for name in ("intent_successes.json", "intent_errors.json"):
        path = args.out / name
        predictions += json.loads(path.read_text(encoding="utf-8")) if path.exists() else []
    languages = texts_by_language()
    by_language = defaultdict(lambda: ([], []))
    for prediction in predictions:
        language = languages.get(prediction["text"], "shared")
        for key in (language, "all"):
            by_language[key][0].append(prediction["intent"])
            by_language[key][1].append((prediction.get("intent_prediction") or {}).get("name"))
    print(f"Intent F1 (weighted), {args.folds}-fold cross-validation, FallbackClassifier left out:")
    for language in ("all", "en", "fr", "shared"):
        truth, predicted = by_language[language]
        if truth:
            f1 = f1_score(truth, predicted, average="weighted", zero_division=0)
            print(f"  {language:7s} {f1:.3f}  ({len(truth)} examples)")
    entity_report = args.out / "KnowledgeEntityExtractor_report.json"
    if entity_report.exists():
        report = json.loads(entity_report.read_text(encoding="utf-8"))
        print("Entity F1 (KnowledgeEntityExtractor):")
        for entity in ("cluster", "sector", "cluster_type", "organisation_type", "goal"):
            if entity in report:
                print(f"  {entity:18s} {report[entity]['f1-score']:.3f}  (support {report[entity]['support']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
