"""Rate limits of the web channels (`channels.rest`, `channels.socketio`): one sender, or one client
address, cannot take the service from everyone else.

Three token buckets (a bucket holds up to `burst` tokens, refilled at `rate` a second; a message or
a connection takes one, and is refused when there is none):
- per sender (the conversation id): RATE_PER_SENDER (default 5 a second), RATE_BURST_PER_SENDER (10);
- per client address, whatever sender ids it uses: RATE_PER_ADDRESS (20), RATE_BURST_PER_ADDRESS (40);
- new socket.io connections per client address: CONNECTIONS_PER_ADDRESS (1 a second),
  CONNECTIONS_BURST_PER_ADDRESS (20).
RATE_LIMITS=off turns them all off.

The client address is the peer of the connection, or, when that peer is one of TRUSTED_PROXIES
(addresses separated by spaces or commas, e.g. the load balancer's: `make run-scale-out` sets its
own), the last address of its `X-Forwarded-For` (the one that proxy added: what comes before it
is the client's to write).

The buckets are kept in Redis when REDIS_HOST is set (the lock store's Redis, in the keys
`rate:<kind>:<hash>`), so that they hold across instances: one Lua script per check (atomic, on
Redis's clock), each key expiring once its bucket is full again. Without Redis, or while Redis does
not answer within 0.5 s, they are kept in this process: at most MAX_BUCKETS buckets, the least
recently used dropped first. Either way the memory is bounded. (Neither fail-open nor
fail-closed: refusing every message while Redis is out would add an outage of the whole service
to the lock store's, and admitting all would leave the flood unchecked; the buckets of each
instance still hold a sender to the rate, times the number of instances.)

A refused message is answered at once with a polite "slow down" (in the language the page gives
in its metadata, else in English and French) and is not handed to Rasa: it costs no tracker read,
no NLU, nothing stored.

How this relates to `guard.MAX_PENDING_PER_SENDER`: that one bounds how many messages of one sender
*wait at the same time* in one instance (memory, and the order of a burst: the 51st waiting gets
"please wait for my answers"); the rate limits bound how many are *accepted per second*, across
instances, before they wait at all. A sender within its rate never has 50 pending; the pending cap
stays as the bound for a burst that the rate limits allow (RATE_LIMITS=off, or a large burst).
"""

import hashlib
import ipaddress
import logging
import os
import re
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Tuple

logger = logging.getLogger(__name__)

MAX_BUCKETS = 100_000
REDIS_TIMEOUT = 0.5  # seconds: a frozen Redis must not hold the message; the local buckets decide then
REDIS_RETRY_AFTER = 5.0  # seconds before Redis is tried again after it failed
KEY_PREFIX = "rate:"

# KEYS[1]: the bucket; ARGV: rate (tokens a second), burst. Returns 1 (a token taken) or 0.
TOKEN_BUCKET_SCRIPT = """
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local now = redis.call('TIME')
now = tonumber(now[1]) + tonumber(now[2]) / 1000000
local held = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens, at = tonumber(held[1]), tonumber(held[2])
if tokens == nil then tokens, at = burst, now end
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local taken = 0
if tokens >= 1 then tokens, taken = tokens - 1, 1 end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 1)
return taken
"""


@dataclass(frozen=True)
class Limit:
    rate: float  # tokens a second
    burst: float  # tokens at most

    @classmethod
    def from_environment(cls, environ: Mapping[str, str], rate_name: str, burst_name: str,
                         rate: float, burst: float) -> "Limit":
        def number(name: str, default: float) -> float:
            value = (environ.get(name) or "").strip()
            try:
                number = float(value) if value else default
            except ValueError:
                raise ValueError(f"{name} must be a number, not {value!r}") from None
            if number <= 0:
                raise ValueError(f"{name} must be positive, not {value!r}")
            return number

        return cls(number(rate_name, rate), max(1.0, number(burst_name, burst)))


class LocalBuckets:
    """Token buckets in this process's memory, the least recently used dropped beyond `size`."""

    def __init__(self, size: int = MAX_BUCKETS) -> None:
        self.size = size
        self._buckets: "OrderedDict[str, Tuple[float, float]]" = OrderedDict()  # key -> (tokens, at)

    def take(self, key: str, limit: Limit, now: Optional[float] = None) -> bool:
        now = time.monotonic() if now is None else now
        tokens, at = self._buckets.pop(key, (limit.burst, now))
        tokens = min(limit.burst, tokens + max(0.0, now - at) * limit.rate)
        taken = tokens >= 1
        self._buckets[key] = (tokens - 1 if taken else tokens, now)
        while len(self._buckets) > self.size:
            self._buckets.popitem(last=False)
        return taken

    def __len__(self) -> int:
        return len(self._buckets)


def key_of(kind: str, value: str) -> str:
    """A bucket's key: no sender id (a conversation's credential) nor address kept in clear."""
    return f"{KEY_PREFIX}{kind}:" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:24]


def parse_addresses(value: str) -> frozenset:
    return frozenset(item for item in re.split(r"[\s,]+", value or "") if item)


def client_address(peer: Optional[str], forwarded_for: Optional[str], trusted: frozenset) -> str:
    """The client's address: `peer`, or the last X-Forwarded-For entry when `peer` is trusted."""
    peer = peer or ""
    if peer in trusted and forwarded_for:
        last = forwarded_for.split(",")[-1].strip()
        try:
            return str(ipaddress.ip_address(last))
        except ValueError:
            logger.info("X-Forwarded-For from a trusted proxy without a valid last address: ignored.")
    return peer


class RateLimits:
    """The three limits of the module's docstring, in Redis or in memory."""

    def __init__(self, environ: Mapping[str, str] = os.environ) -> None:
        self.enabled = (environ.get("RATE_LIMITS") or "on").strip().lower() not in ("off", "0", "false", "no")
        self.per_sender = Limit.from_environment(environ, "RATE_PER_SENDER", "RATE_BURST_PER_SENDER", 5, 10)
        self.per_address = Limit.from_environment(environ, "RATE_PER_ADDRESS", "RATE_BURST_PER_ADDRESS", 20, 40)
        self.connections = Limit.from_environment(environ, "CONNECTIONS_PER_ADDRESS",
                                                  "CONNECTIONS_BURST_PER_ADDRESS", 1, 20)
        self.trusted_proxies = parse_addresses(environ.get("TRUSTED_PROXIES", ""))
        self.local = LocalBuckets()
        self._redis: Any = None
        self._redis_failed_at = 0.0
        if self.enabled and environ.get("REDIS_HOST"):
            import redis.asyncio

            self._redis = redis.asyncio.Redis(
                host=environ["REDIS_HOST"], port=int(environ.get("REDIS_PORT") or 6379),
                password=environ.get("REDIS_PASSWORD") or None, db=1,
                socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT)
            self._script = self._redis.register_script(TOKEN_BUCKET_SCRIPT)

    def address(self, peer: Optional[str], forwarded_for: Optional[str]) -> str:
        return client_address(peer, forwarded_for, self.trusted_proxies)

    async def _take(self, kind: str, value: str, limit: Limit) -> bool:
        key = key_of(kind, value)
        if self._redis is not None and time.monotonic() - self._redis_failed_at > REDIS_RETRY_AFTER:
            try:
                return bool(await self._script(keys=[key], args=[limit.rate, limit.burst]))
            except Exception as error:  # Redis down or frozen: the local buckets decide meanwhile
                self._redis_failed_at = time.monotonic()
                logger.warning("Rate limits: Redis did not answer (%s); limits kept in this instance for %.0f s.",
                               type(error).__name__, REDIS_RETRY_AFTER)
        return self.local.take(key, limit)

    async def admit_message(self, sender: str, address: str) -> bool:
        """Whether a message of `sender` from `address` may be handled (a token taken from both)."""
        if not self.enabled:
            return True
        if not await self._take("sender", sender, self.per_sender):
            return False
        return not address or await self._take("address", address, self.per_address)

    async def admit_connection(self, address: str) -> bool:
        return not self.enabled or not address or await self._take("connect", address, self.connections)


def sanic_peer(request: Any) -> Tuple[str, Optional[str]]:
    """(the connection's peer address, its X-Forwarded-For header) of a Sanic request."""
    return getattr(request, "ip", "") or "", request.headers.get("x-forwarded-for")
