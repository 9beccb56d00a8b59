#!/usr/bin/env python3
"""Writes the credentials file Rasa starts with: credentials.yml (the channels always on: rest,
socketio) plus Telegram and Slack, each only when its environment variables are set.

    .venv/bin/python scripts/credentials.py            # writes var/credentials.yml
    .venv/bin/python scripts/credentials.py --out FILE --base FILE
    .venv/bin/python scripts/credentials.py --guarded  # REST and socket.io through channels/ (scripts/run.sh)

Rasa refuses a credentials file that names an unset ${VAR}, so the optional channels cannot sit
in credentials.yml itself. The generated file names the variables (`${TELEGRAM_ACCESS_TOKEN}`)
rather than their values: Rasa reads them from its environment at start, and no secret is written
to disk. A channel with only some of its required variables set is an error (exit status 2), with
the missing ones named. See docs/channels.md.

With --guarded, the base file's `rest:` and `socketio:` sections name the guarded channels instead,
`channels.rest.GuardedRestInput` and `channels.socketio.GuardedSocketIOInput`, with the same
options (checked requests, cleaned and capped input, one message of a conversation at a time, an
answer to every message, the socket.io origin limited to WEB_ORIGIN: see docs/security.md).
"""

import argparse
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Mapping, Optional, Tuple

import yaml

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Channel:
    name: str
    module_path: str  # the credentials key: the input channel class
    required: Dict[str, str]  # credentials key -> environment variable
    optional: Dict[str, str] = field(default_factory=dict)
    checks: Dict[str, Tuple[Callable[[str], bool], str]] = field(default_factory=dict)  # variable -> (test, hint)


def _is_https(value: str) -> bool:
    return value.startswith("https://")


def _is_http(value: str) -> bool:
    return value.startswith(("http://", "https://"))


CHANNELS = [
    Channel(
        name="Telegram",
        module_path="channels.telegram.SecureTelegramInput",
        required={
            "access_token": "TELEGRAM_ACCESS_TOKEN",
            "verify": "TELEGRAM_VERIFY",
            "webhook_url": "TELEGRAM_WEBHOOK_URL",
            "secret_token": "TELEGRAM_SECRET_TOKEN",
        },
        optional={"api_server": "TELEGRAM_API_SERVER"},
        checks={
            "TELEGRAM_ACCESS_TOKEN": (lambda v: bool(re.fullmatch(r"\d+:[\w-]+", v)),
                                      "BotFather's token looks like 123456789:AAH…"),
            "TELEGRAM_WEBHOOK_URL": (_is_https, "Telegram only calls https:// webhooks, e.g. https://bot.example.org/webhooks/telegram/webhook"),
            "TELEGRAM_SECRET_TOKEN": (lambda v: bool(re.fullmatch(r"[A-Za-z0-9_-]{1,256}", v)),
                                      "1–256 characters of A–Z, a–z, 0–9, _ and - (e.g. `openssl rand -hex 32`)"),
            "TELEGRAM_API_SERVER": (_is_http, "a Bot API base URL such as http://127.0.0.1:8081"),
        },
    ),
    Channel(
        name="Slack",
        module_path="channels.slack.FormattedSlackInput",
        required={"slack_token": "SLACK_TOKEN", "slack_signing_secret": "SLACK_SIGNING_SECRET"},
        optional={"slack_channel": "SLACK_CHANNEL", "api_url": "SLACK_API_URL"},
        checks={"SLACK_API_URL": (_is_http, "a Web API base URL such as http://127.0.0.1:8082/api/")},
    ),
]


# --guarded: the stock channels of the base file and the guarded ones that replace them.
GUARDED_CHANNELS = {
    "rest": "channels.rest.GuardedRestInput",
    "socketio": "channels.socketio.GuardedSocketIOInput",
}


def guard_channels(base_text: str) -> str:
    """The base file with its top-level `rest:` and `socketio:` keys renamed to the guarded
    channels' module paths (comments and options kept)."""
    for stock, guarded in GUARDED_CHANNELS.items():
        base_text = re.sub(rf"^{stock}:", f"{guarded}:", base_text, flags=re.MULTILINE)
    return base_text


class ConfigurationError(Exception):
    pass


def channel_section(channel: Channel, environ: Mapping[str, str]) -> Optional[str]:
    """The YAML section of a channel whose variables are all set, None if none is set."""
    variables = {**channel.required, **channel.optional}
    present = {key: var for key, var in variables.items() if environ.get(var, "").strip()}
    if not any(var in present.values() for var in channel.required.values()):
        return None
    missing = [var for var in channel.required.values() if var not in present.values()]
    if missing:
        raise ConfigurationError(f"{channel.name}: set {', '.join(missing)} as well (or unset the other "
                                 f"{channel.name.upper()}_* variables to leave {channel.name} off).")
    for var, (test, hint) in channel.checks.items():
        value = environ.get(var, "").strip()
        if value and not test(value):
            raise ConfigurationError(f"{channel.name}: {var} does not look right: {hint}.")
    lines = [f"{channel.module_path}:"]
    lines += [f"  {key}: ${{{var}}}" for key, var in present.items()]
    return "\n".join(lines)


def build(base_text: str, environ: Mapping[str, str]) -> Tuple[str, List[str]]:
    """The generated file's text and the names of the channels in it."""
    base = yaml.safe_load(base_text) or {}
    names = list(base)
    sections = []
    for channel in CHANNELS:
        if channel.module_path in base:
            continue  # configured by hand in the base file
        section = channel_section(channel, environ)
        if section:
            sections.append(section)
            names.append(channel.name.lower())
    header = ("# Generated by scripts/credentials.py from credentials.yml and the environment: do not edit.\n"
              "# The ${VARIABLES} are read by Rasa from its environment at start.\n")
    text = header + base_text.rstrip() + "\n"
    if sections:
        text += "\n" + "\n\n".join(sections) + "\n"
    return text, names


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", type=Path, default=ROOT / "credentials.yml")
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "credentials.yml")
    parser.add_argument("--guarded", action="store_true",
                        help="REST and socket.io through channels.rest / channels.socketio (see docs/security.md)")
    args = parser.parse_args(argv)
    try:
        base_text = args.base.read_text(encoding="utf-8")
        if args.guarded:
            base_text = guard_channels(base_text)
        text, names = build(base_text, os.environ)
    except ConfigurationError as error:
        print(f"scripts/credentials.py: {error}", file=sys.stderr)
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"Channels: {', '.join(names)} (written to {args.out}).", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
