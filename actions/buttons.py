"""The button payloads the bot itself sends, so that a channel can accept exactly those when they
are typed by hand (`/intent{"entity": "value"}`) and treat anything else starting with "/" as text.

Derived from the code that writes the buttons, never copied from it:

- `actions/render.py`, read with `ast`: every call `button(title, "<intent>", <entity>=...)`, and
  every call of a helper that hands its own parameters on to `button` (such as
  `_choice_buttons(kind, "<intent>", "<entity>", language)`), with the literal arguments it is
  called with;
- `domain.yml`: the buttons written in the responses;
- `greet`: the web page's widget opens every conversation with `/greet` (`initPayload` in
  `web/app.js`), as Telegram's `/start` does (channels/telegram.py).

The values an entity may take: the values of the categorical slot it fills when there is one
(`organisation_type`, `goal`), else an identifier (`skywin`, `food-health`: lower-case letters,
digits, `+ . _ -`). Slots without such an entity (`language`, `activity`, `requested_slot`, ...)
can never be set by a payload.

    from actions.buttons import PAYLOADS
    PAYLOADS.accept('/ask_cluster_info{"cluster": "skywin"}')  # the payload, re-serialised
    PAYLOADS.accept('/restart')                                 # None: not a button of the bot

Plain Python (no rasa_sdk import): the Rasa server's channels import it too.
"""

import ast
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, FrozenSet, List, Optional, Set, Tuple, Union

import yaml

ROOT = Path(__file__).resolve().parent.parent
RENDER = Path(__file__).with_name("render.py")
DOMAIN = ROOT / "domain.yml"
# Not a button: the first message of the web widget (web/app.js, initPayload).
OPENING_INTENTS = ("greet",)
IDENTIFIER = re.compile(r"^[a-z0-9][a-z0-9+._-]{0,63}$")
# The payload format of actions/render.py's `button`: "/intent" + json.dumps(entities).
_PAYLOAD = re.compile(r"^/(?P<intent>[A-Za-z0-9_]+)(?P<entities>\{.*\})?$", re.DOTALL)


class DerivationError(Exception):
    """render.py writes a button whose intent or entities cannot be read from the code."""


def _literal(node: Optional[ast.AST]) -> Optional[str]:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


@dataclass
class _Forwarder:
    """A function of render.py that calls `button` with one of its own parameters as the intent
    (and perhaps another as the entity name)."""

    params: List[str]
    intent_param: str
    entity_params: List[str] = field(default_factory=list)
    entities: Set[str] = field(default_factory=set)


def _argument(call: ast.Call, params: List[str], name: str) -> Optional[ast.AST]:
    for keyword in call.keywords:
        if keyword.arg == name:
            return keyword.value
    index = params.index(name)
    return call.args[index] if index < len(call.args) else None


def _button_calls(tree: ast.Module) -> List[Tuple[Optional[ast.FunctionDef], ast.Call]]:
    """Every call of `button(...)`, with the innermost function it is written in (None: module level)."""
    enclosing: Dict[int, Optional[ast.FunctionDef]] = {}
    calls: Dict[int, ast.Call] = {}
    for scope in [tree, *[n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]]:  # outer scopes first
        for node in ast.walk(scope):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "button":
                calls[id(node)] = node
                enclosing[id(node)] = scope if isinstance(scope, ast.FunctionDef) else None
    return [(enclosing[key], call) for key, call in calls.items()]


def derive_from_render(source: str) -> Dict[str, Set[str]]:
    """{intent: entity names} of every button written by render.py's code."""
    tree = ast.parse(source)
    found: Dict[str, Set[str]] = {}
    forwarders: Dict[str, _Forwarder] = {}
    for function, call in _button_calls(tree):
        params = [a.arg for a in function.args.args] if function else []
        intent_node = call.args[1] if len(call.args) > 1 else next((k.value for k in call.keywords if k.arg == "intent"), None)
        entities: Set[str] = set()
        entity_params: List[str] = []
        for keyword in call.keywords:
            if keyword.arg == "intent":
                continue
            if keyword.arg is not None:
                entities.add(keyword.arg)
            elif isinstance(keyword.value, ast.Dict):  # button(..., **{entity: value})
                for key in keyword.value.keys:
                    if _literal(key) is not None:
                        entities.add(_literal(key))
                    elif isinstance(key, ast.Name) and key.id in params:
                        entity_params.append(key.id)
                    else:
                        raise DerivationError(f"render.py line {call.lineno}: an entity name that is not written in the code")
            else:
                raise DerivationError(f"render.py line {call.lineno}: button(**...) with entities that are not written in the code")
        intent = _literal(intent_node)
        if intent is not None:
            if entity_params:
                raise DerivationError(f"render.py line {call.lineno}: an entity name passed as a parameter with a fixed intent")
            found.setdefault(intent, set()).update(entities)
        elif function is not None and isinstance(intent_node, ast.Name) and intent_node.id in params:
            forwarders[function.name] = _Forwarder(params, intent_node.id, entity_params, entities)
        else:
            raise DerivationError(f"render.py line {call.lineno}: a button whose intent is not written in the code")
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in forwarders):
            continue
        forwarder = forwarders[node.func.id]
        intent = _literal(_argument(node, forwarder.params, forwarder.intent_param))
        names = [_literal(_argument(node, forwarder.params, p)) for p in forwarder.entity_params]
        if intent is None or None in names:
            raise DerivationError(f"render.py line {node.lineno}: {node.func.id}(...) without a literal intent or entity name")
        found.setdefault(intent, set()).update(forwarder.entities, names)
    return found


def _split(payload: str) -> Optional[Tuple[str, Dict[str, Any]]]:
    match = _PAYLOAD.match(payload.strip())
    if not match:
        return None
    entities: Any = {}
    if match.group("entities"):
        try:
            entities = json.loads(match.group("entities"))
        except ValueError:
            return None
    return (match.group("intent"), entities) if isinstance(entities, dict) else None


def derive_from_domain(domain: Dict[str, Any]) -> Dict[str, Set[str]]:
    """{intent: entity names} of the buttons written in the domain's responses."""
    found: Dict[str, Set[str]] = {}
    for variants in (domain.get("responses") or {}).values():
        for variant in variants or []:
            for button in variant.get("buttons") or []:
                # Rasa interpolates the domain's responses: a payload's JSON braces are written doubled.
                payload = str(button.get("payload") or "").replace("{{", "{").replace("}}", "}")
                parts = _split(payload)
                if parts:
                    found.setdefault(parts[0], set()).update(parts[1])
    return found


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
class ButtonPayloads:
    intents: Dict[str, FrozenSet[str]]  # intent -> the entity names its buttons carry
    values: Dict[str, FrozenSet[str]]  # entity -> its allowed values, when they are a closed set

    def accept(self, text: str) -> Optional[str]:
        """The payload (re-serialised as render.py writes it) when `text` is one the bot's
        buttons send, with entities they carry and values they may have; None otherwise."""
        parts = _split(text)
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
            if (value not in closed) if closed is not None else not IDENTIFIER.match(value):
                return None
        return f"/{intent}" + (json.dumps(entities, ensure_ascii=False) if entities else "")


def derive(render_source: Union[str, None] = None, domain: Optional[Dict[str, Any]] = None) -> ButtonPayloads:
    render_source = render_source if render_source is not None else RENDER.read_text(encoding="utf-8")
    domain = domain if domain is not None else yaml.safe_load(DOMAIN.read_text(encoding="utf-8"))
    intents: Dict[str, Set[str]] = {intent: set() for intent in OPENING_INTENTS}
    for part in (derive_from_render(render_source), derive_from_domain(domain)):
        for intent, entities in part.items():
            intents.setdefault(intent, set()).update(entities)
    return ButtonPayloads({i: frozenset(e) for i, e in intents.items()}, categorical_values(domain))


PAYLOADS = derive()
