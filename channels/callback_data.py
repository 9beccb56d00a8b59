"""Button payloads in Telegram's callback data (1–64 bytes), and back.

A button's payload is usually a Rasa intent message such as
`/ask_cluster_info{"cluster": "infopole-cluster-tic"}`. `CallbackCodec.encode` gives, in order
of preference:

1. the payload itself, when it fits in 64 bytes and does not start with `~` or `#`;
2. a compact, reversible form, `~intent|key=value|key=value`, when it fits: the JSON syntax is
   dropped and rebuilt exactly by `decode` (the encoder checks the round trip before using it);
3. `#` and a 96-bit hash of the payload, with the payload kept in a small SQLite file (by default
   `var/telegram-callbacks.db`, created on first use), so that a button still works after a
   restart. Only payloads that fit neither form above land there.

`decode` returns the exact payload, or None for a hash that the store does not know (for example
after `make clean`): the connector then tells the user that the button has expired.
"""

import base64
import hashlib
import logging
import re
import sqlite3
import threading
from pathlib import Path
from typing import Dict, Optional, Union

from actions.buttons import payload as build_payload, split

logger = logging.getLogger(__name__)

MAX_BYTES = 64
COMPACT_PREFIX = "~"
STORED_PREFIX = "#"
DEFAULT_STORE = Path("var") / "telegram-callbacks.db"

_SAFE_KEY = re.compile(r"^[A-Za-z0-9_\-.]+$")


def _fits(data: str) -> bool:
    return 0 < len(data.encode("utf-8")) <= MAX_BYTES


def compact(payload: str) -> Optional[str]:
    """The compact form of an intent payload, or None when it has none that rebuilds it exactly."""
    read = split(payload)
    if read is None:
        return None
    intent, entities = read
    for key, value in entities.items():
        if not (isinstance(value, str) and _SAFE_KEY.match(key) and "|" not in value):
            return None
    parts = [intent] + [f"{key}={value}" for key, value in entities.items()]
    encoded = COMPACT_PREFIX + "|".join(parts)
    return encoded if expand(encoded) == payload else None


def expand(encoded: str) -> Optional[str]:
    """The payload of a compact form (`~intent|key=value…`)."""
    if not encoded.startswith(COMPACT_PREFIX):
        return None
    intent, *pairs = encoded[len(COMPACT_PREFIX):].split("|")
    entities = {}
    for pair in pairs:
        key, separator, value = pair.partition("=")
        if not separator:
            return None
        entities[key] = value
    return build_payload(intent, **entities) if intent else None


def stored_key(payload: str) -> str:
    digest = hashlib.sha256(payload.encode("utf-8")).digest()[:12]
    return STORED_PREFIX + base64.urlsafe_b64encode(digest).decode("ascii")


class CallbackCodec:
    """Encodes button payloads into callback data and decodes them back."""

    def __init__(self, store: Union[str, Path, None] = None) -> None:
        self.store = Path(store) if store else DEFAULT_STORE
        self._lock = threading.Lock()
        self._cache: Dict[str, str] = {}

    def encode(self, payload: str) -> str:
        if _fits(payload) and not payload.startswith((COMPACT_PREFIX, STORED_PREFIX)):
            return payload
        encoded = compact(payload)
        if encoded is not None and _fits(encoded):
            return encoded
        key = stored_key(payload)
        self._save(key, payload)
        return key

    def decode(self, data: str) -> Optional[str]:
        if data.startswith(COMPACT_PREFIX):
            return expand(data)
        if data.startswith(STORED_PREFIX):
            return self._load(data)
        return data

    # --- the store, for the payloads that fit no other way -----------------------------------

    def _connect(self) -> sqlite3.Connection:
        self.store.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(str(self.store), timeout=10)
        connection.execute("CREATE TABLE IF NOT EXISTS callbacks (key TEXT PRIMARY KEY, payload TEXT NOT NULL)")
        return connection

    def _save(self, key: str, payload: str) -> None:
        if self._cache.get(key) == payload:
            return
        with self._lock:
            connection = self._connect()
            try:
                with connection:
                    connection.execute("INSERT OR REPLACE INTO callbacks (key, payload) VALUES (?, ?)", (key, payload))
            finally:
                connection.close()
            self._cache[key] = payload
        logger.debug("Button payload kept as %s in %s: %s", key, self.store, payload)

    def _load(self, key: str) -> Optional[str]:
        if key in self._cache:
            return self._cache[key]
        if not self.store.exists():
            return None
        with self._lock:
            connection = self._connect()
            try:
                row = connection.execute("SELECT payload FROM callbacks WHERE key = ?", (key,)).fetchone()
            finally:
                connection.close()
        if row:
            self._cache[key] = row[0]
        return row[0] if row else None
