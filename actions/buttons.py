"""The button contract (`buttons.yml`): the payloads the assistant may send, how one is written
and read, and which typed text is one of them.

- `payload(intent, **entities)`: a payload as every button writes it (render.py, the compact form
  of Telegram's callback data rebuilt);
- `split(text)`: a payload's intent and entities, or None (the one pattern that reads them);
- `CONTRACT.button(title, intent, **entities)`: a button of the actions, refused when the contract
  does not declare it;
- `CONTRACT.accept(text)`: the payload when `text` is one the bot may send, with entities its
  buttons carry and values they may have; None otherwise (the guard then reads it as text).

    from actions.buttons import CONTRACT
    CONTRACT.accept('/ask_cluster_info{"cluster": "skywin"}')  # the payload, re-serialised
    CONTRACT.accept('/restart')                                 # None: not a button of the bot

Plain Python (no rasa_sdk import): the Rasa server's channels import it too.
"""

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, FrozenSet, Optional, Tuple

from kb.loader import load_yaml

ROOT = Path(__file__).resolve().parent.parent
CONTRACT_FILE = Path(__file__).with_name("buttons.yml")
DOMAIN = ROOT / "domain.yml"
PREFIX = "/"
_PAYLOAD = re.compile(r"^/(?P<intent>[A-Za-z0-9_\-.]+)(?P<entities>\{.*\})?$", re.DOTALL)


def payload(intent: str, **entities: str) -> str:
    return PREFIX + intent + (json.dumps(entities, ensure_ascii=False) if entities else "")


def split(text: str) -> Optional[Tuple[str, Dict[str, Any]]]:
    """(intent, entities) of a payload; None when `text` is not written as one."""
    match = _PAYLOAD.match(text.strip())
    if not match:
        return None
    entities: Any = {}
    if match.group("entities"):
        try:
            entities = json.loads(match.group("entities"))
        except ValueError:
            return None
    return (match.group("intent"), entities) if isinstance(entities, dict) else None


class UndeclaredButton(ValueError):
    """A button whose intent or entities buttons.yml does not declare."""


def categorical_values(domain: Dict[str, Any]) -> Dict[str, FrozenSet[str]]:
    """{entity: values} for the entities that fill a categorical slot."""
    values: Dict[str, FrozenSet[str]] = {}
    for slot in (domain.get("slots") or {}).values():
        if slot.get("type") != "categorical":
            continue
        for mapping in slot.get("mappings") or []:
            if mapping.get("type") == "from_entity" and mapping.get("entity"):
                values[mapping["entity"]] = frozenset(str(v) for v in slot.get("values") or [])
    return values


@dataclass(frozen=True)
class ButtonContract:
    intents: Dict[str, FrozenSet[str]]  # intent -> the entity names its payloads carry (the opening's too)
    values: Dict[str, FrozenSet[str]]  # entity -> its allowed values, when they are a closed set
    opening: str  # the payload a conversation opens with
    identifier: "re.Pattern[str]"

    def button(self, title: str, intent: str, **entities: str) -> Dict[str, str]:
        written = payload(intent, **entities)
        if self.accept(written) != written:
            raise UndeclaredButton(f"{written}: not a payload of actions/buttons.yml (add its intent and entities there)")
        return {"title": title, "payload": written}

    def accept(self, text: str) -> Optional[str]:
        parts = split(text)
        if parts is None:
            return None
        intent, entities = parts
        allowed = self.intents.get(intent)
        if allowed is None or not set(entities) <= allowed:
            return None
        for name, value in entities.items():
            if not isinstance(value, str):
                return None
            closed = self.values.get(name)
            if (value not in closed) if closed is not None else not self.identifier.match(value):
                return None
        return payload(intent, **entities)


def load(contract: Optional[Dict[str, Any]] = None, domain: Optional[Dict[str, Any]] = None) -> ButtonContract:
    """The contract of buttons.yml (or of `contract`), with the closed values of `domain`'s slots."""
    contract = contract if contract is not None else load_yaml(CONTRACT_FILE.read_text(encoding="utf-8"))
    domain = domain if domain is not None else load_yaml(DOMAIN.read_text(encoding="utf-8"))
    intents = {intent: frozenset(entities or ()) for intent, entities in (contract.get("buttons") or {}).items()}
    intents.setdefault(contract["opening"], frozenset())
    return ButtonContract(intents, categorical_values(domain), payload(contract["opening"]),
                          re.compile(contract["identifier"]))


CONTRACT = load()
