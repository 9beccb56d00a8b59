#!/usr/bin/env python3
"""Deletes the conversations older than the retention period from the tracker store, for a daily
schedule (`make purge-conversations`; docs/privacy.md has a cron line).

    .venv/bin/python scripts/purge_conversations.py [--days 90] [--db URL_OR_PATH] [--dry-run]

Deleted: every conversation whose last event is older than the retention (default 90 days,
CONVERSATION_RETENTION_DAYS), and, in conversations still in use, the events of their earlier
sessions older than the retention (Rasa reads a conversation from its latest session_started
event on, so what it reads is never cut); and what is left of conversations whose "forget me"
clean-up was interrupted (actions/privacy.py). The database: --db, else CONVERSATIONS_DB, else
var/conversations.db — Rasa's SQL tracker store, SQLite by default, PostgreSQL through the same
kind of SQLAlchemy URL (postgresql://user:password@host:5432/rasa): see actions/tracker_db.py.
Prints what it deleted; exit status 0, or 1 when the database cannot be used.
"""

import argparse
import os
import sys
import time
from typing import List, Optional

from actions import tracker_db

DEFAULT_RETENTION_DAYS = 90


def retention_days(value: Optional[str]) -> float:
    days = float(value) if value not in (None, "") else DEFAULT_RETENTION_DAYS
    if days <= 0:
        raise ValueError("the retention must be a positive number of days")
    return days


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", help=f"retention in days (default: $CONVERSATION_RETENTION_DAYS or {DEFAULT_RETENTION_DAYS})")
    parser.add_argument("--db", help="SQLAlchemy URL or SQLite path (default: $CONVERSATIONS_DB or var/conversations.db)")
    parser.add_argument("--dry-run", action="store_true", help="count what would be deleted, delete nothing")
    args = parser.parse_args(argv)
    try:
        days = retention_days(args.days if args.days is not None else os.environ.get("CONVERSATION_RETENTION_DAYS"))
    except ValueError as error:
        parser.error(str(error))
    url = tracker_db.database_url(args.db)
    if tracker_db.sqlite_file_missing(url):
        print(f"No conversations stored yet ({url} does not exist).")
        return 0
    try:
        engine = tracker_db.engine_for(url)
        if not tracker_db.has_events_table(engine):
            print(f"No conversations stored yet ({engine.url.render_as_string(hide_password=True)} has no events table).")
            return 0
        cutoff = time.time() - days * 86400
        result = tracker_db.purge(engine, cutoff, dry_run=args.dry_run)
    except Exception as error:
        print(f"scripts/purge_conversations.py: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    verb = "Would delete" if args.dry_run else "Deleted"
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(cutoff))
    print(f"{verb} {result.events} events: those older than {days:g} days (before {when}), "
          f"{result.conversations} conversations entirely, and {result.forgotten} left by \"forget me\" "
          "clean-ups that were interrupted.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
