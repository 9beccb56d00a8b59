#!/usr/bin/env python3
"""The questions the assistant could not answer, from the tracker store, most frequent first
(`make unanswered`): what to add to the NLU data or the knowledge base next.

    .venv/bin/python scripts/unanswered.py [--days N] [--limit 50] [--db URL_OR_PATH] [--json]

A user message counts as unanswered when the NLU classified it as `nlu_fallback` (low confidence)
or `out_of_scope`, or when the bot's answer to it was `utter_rephrase`, `utter_out_of_scope` or
the dialogue policy's own fallback (`action_core_fallback`). Button payloads (`/intent…`) are left out. Messages are
grouped by their normalised text (NFKC, lower case, spaces and surrounding punctuation trimmed) and
counted; each group shows its most frequent original spelling. The database: --db, else
CONVERSATIONS_DB, else var/conversations.db (see actions/tracker_db.py).
"""

import argparse
import json
import re
import sys
import time
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional

from actions import tracker_db

FALLBACK_INTENTS = {"nlu_fallback", "out_of_scope"}
FALLBACK_ACTIONS = {"utter_rephrase", "utter_out_of_scope", "action_core_fallback"}
_EDGE_PUNCTUATION = " \t\n\"'“”«»‘’.,;:!?¿¡…()[]{}-–—"


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    text = re.sub(r"\s+", " ", text)
    return text.strip(_EDGE_PUNCTUATION)


@dataclass
class Question:
    text: str  # the most frequent spelling
    count: int
    conversations: int
    last_seen: float


def unanswered_messages(rows: Iterable[tracker_db.Row]) -> Iterable[Dict]:
    """The unanswered user messages, each {text, sender_id, timestamp}, from events ordered by
    conversation and id."""
    pending: Optional[Dict] = None  # the latest user message of the current conversation
    sender = None
    for row in rows:
        if row.sender_id != sender:
            sender, pending = row.sender_id, None
        if row.type_name == "user":
            data = json.loads(row.data or "{}")
            text = (data.get("text") or "").strip()
            pending = None
            if not text or text.startswith("/"):
                continue
            pending = {"text": text, "sender_id": row.sender_id, "timestamp": row.timestamp or 0.0}
            if row.intent_name in FALLBACK_INTENTS:
                yield pending
                pending = None
        elif row.type_name == "action" and pending is not None and row.action_name in FALLBACK_ACTIONS:
            yield pending
            pending = None


def group(messages: Iterable[Dict]) -> List[Question]:
    spellings: Dict[str, Counter] = defaultdict(Counter)
    senders: Dict[str, set] = defaultdict(set)
    last: Dict[str, float] = defaultdict(float)
    for message in messages:
        key = normalise(message["text"])
        if not key:
            continue
        spellings[key][message["text"]] += 1
        senders[key].add(message["sender_id"])
        last[key] = max(last[key], message["timestamp"])
    questions = [
        Question(spellings[key].most_common(1)[0][0], sum(spellings[key].values()), len(senders[key]), last[key])
        for key in spellings
    ]
    return sorted(questions, key=lambda q: (-q.count, -q.conversations, -q.last_seen, q.text))


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=float, help="only the last N days (default: everything stored)")
    parser.add_argument("--limit", type=int, default=50, help="at most this many questions (default 50; 0: all)")
    parser.add_argument("--db", help="SQLAlchemy URL or SQLite path (default: $CONVERSATIONS_DB or var/conversations.db)")
    parser.add_argument("--json", action="store_true", help="a JSON list instead of a table")
    args = parser.parse_args(argv)
    try:
        engine = None if tracker_db.sqlite_file_missing(args.db) else tracker_db.engine_for(args.db)
        if engine is None or not tracker_db.has_events_table(engine):
            questions: List[Question] = []
        else:
            since = time.time() - args.days * 86400 if args.days else None
            rows = tracker_db.events(engine, since=since, type_names=("user", "action"))
            questions = group(unanswered_messages(rows))
    except Exception as error:
        print(f"scripts/unanswered.py: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    if args.limit:
        questions = questions[: args.limit]
    if args.json:
        print(json.dumps([q.__dict__ for q in questions], ensure_ascii=False, indent=2))
        return 0
    if not questions:
        print("No unanswered questions.")
        return 0
    print(f"{'count':>5}  {'convs':>5}  {'last seen':<16}  question")
    for q in questions:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(q.last_seen)) if q.last_seen else "-"
        text = "".join(c if c.isprintable() else " " for c in q.text)  # no terminal escapes from users
        text = text if len(text) <= 200 else text[:199] + "…"
        print(f"{q.count:>5}  {q.conversations:>5}  {when:<16}  {text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
