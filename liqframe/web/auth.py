"""API keys, their tiers, and per-key rate limits.

A *tier* (``[[web.tiers]]``) bounds what a key sees and how often it may ask: ``min_size``
hides book levels holding less than that much of the base asset, ``depth`` caps the levels per
side, and a token bucket (``rate`` tokens a second, ``burst`` at most) meters requests. A key
(``[[web.keys]]``) names its tier. With no keys configured the host makes one random key of the
first tier for the run and prints it in the dashboard's URL.

Keys arrive in the ``X-API-Key`` header or the ``key`` query parameter (browsers cannot set
headers on a WebSocket). Keys are compared by their SHA-256 digest, so the lookup time does not
depend on how much of a wrong key matches.
"""

import hashlib
import secrets
import time
from decimal import Decimal

import attrs

from liqframe.config import TierConfig

HEADER = "X-API-Key"
QUERY = "key"
#: The tier used when ``[[web.tiers]]`` is empty.
DEFAULT_TIER = TierConfig(name="full")


@attrs.define
class TokenBucket:
    """``rate`` tokens a second up to ``capacity``; :meth:`take` spends one if it can."""

    rate: float
    capacity: float
    tokens: float = attrs.field(default=None)
    stamp: float = attrs.field(factory=time.monotonic)

    def __attrs_post_init__(self):
        if self.tokens is None:
            self.tokens = self.capacity

    def take(self, now=None):
        """Spend a token: 0.0 when granted, else the seconds until one is available."""
        now = time.monotonic() if now is None else now
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


@attrs.frozen
class Tier:
    name: str
    min_size: Decimal
    depth: int
    rate: int
    burst: int

    @classmethod
    def from_config(cls, tier: TierConfig):
        return cls(tier.name, tier.min_size, tier.depth, tier.rate, tier.burst or tier.rate)

    def as_dict(self):
        return {"name": self.name, "min_size": str(self.min_size), "depth": self.depth,
                "rate": self.rate, "burst": self.burst}


@attrs.define
class Client:
    """One key as the server sees it: its tier and its bucket (shared by all its requests)."""

    label: str
    tier: Tier
    bucket: TokenBucket


def _digest(key):
    return hashlib.sha256(key.encode()).digest()


class Keyring:
    """The keys of one web app. ``generated`` holds the key made for this run, if any."""

    def __init__(self, web_config):
        tiers = [Tier.from_config(t) for t in web_config.tiers] or \
            [Tier.from_config(DEFAULT_TIER)]
        self.tiers = {t.name: t for t in tiers}
        entries = [(k.key, k.tier) for k in web_config.keys]
        self.generated = None
        if not entries:
            self.generated = secrets.token_urlsafe(18)
            entries = [(self.generated, tiers[0].name)]
        self._clients = {}
        for index, (key, tier_name) in enumerate(entries):
            tier = self.tiers[tier_name]
            self._clients[_digest(key)] = Client(f"keys[{index}]", tier,
                                                 TokenBucket(tier.rate, tier.burst))

    def client(self, key):
        """The :class:`Client` of ``key``, or None when the key is unknown."""
        if not key:
            return None
        return self._clients.get(_digest(key))
