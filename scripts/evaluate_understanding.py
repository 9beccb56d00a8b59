"""Plays tests/data/unseen_questions.yml against the real servers and reports accuracy per kind
and per language, on the working part and on the fifth kept aside (tests/understanding.py).

Usage: python scripts/evaluate_understanding.py [--part dev|holdout|all] [--failures PATH]
       [--kind KIND] [--url http://127.0.0.1:5005]   (a running assistant; default: start one)
"""

import argparse
import sys
import tempfile
from pathlib import Path

import requests

from kb.loader import load_knowledge
from tests import understanding
from tests.servers import Servers, ensure_model

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("dev", "holdout", "all"), default="dev")
    parser.add_argument("--kind", choices=understanding.KINDS)
    parser.add_argument("--url", help="a running Rasa server (else one is started)")
    parser.add_argument("--failures", type=Path, default=ROOT / "var" / "understanding-failures.txt")
    args = parser.parse_args()
    cases = [
        c for c in understanding.load_cases()
        if (args.part == "all" or c.holdout == (args.part == "holdout")) and (not args.kind or c.kind == args.kind)
    ]
    knowledge = load_knowledge()
    servers = None
    url = args.url
    if url is None:
        ensure_model()
        servers = Servers(Path(tempfile.mkdtemp(prefix="understanding-")))
        servers.start_actions()
        servers.start_rasa()
        url = servers.url

    def say(sender: str, text: str) -> list:
        response = requests.post(f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": text}, timeout=60)
        response.raise_for_status()
        return response.json()

    try:
        report = understanding.run(cases, say, knowledge)
    finally:
        if servers:
            servers.stop()
    print(f"Understanding, part {args.part}: {len(cases)} conversations, {len(report.results)} scored turns")
    print(understanding.format_table(report.table()))
    args.failures.parent.mkdir(parents=True, exist_ok=True)
    with args.failures.open("w", encoding="utf-8") as out:
        for result in report.results:
            if result.problems:
                turn = result.conversation.turns[result.index]
                out.write(f"## {result.conversation.id} turn {result.index + 1}: {turn.user}\n")
                out.write(f"   problems: {'; '.join(result.problems)}\n")
                out.write("   reply: " + result.reply.replace("\n", "\n          ")[:1500] + "\n\n")
    print(f"Failures: {args.failures}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
