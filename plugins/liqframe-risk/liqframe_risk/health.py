"""``venue-health``: a venue's weight in [0, 1] from how it has been behaving.

The weight is the product of four factors, each in [0, 1]:

* **connection**: 0 while the venue is not up or its book is stale (out of sync). Each
  disconnect within the last ``window_s`` seconds then costs ``disconnect_penalty``, fading
  linearly to nothing as it ages out of the window, so a venue that dropped is trusted less
  at once and fully again ``window_s`` after it came back;
* **errors**: with at least ``min_orders`` orders sent in the window, the share the venue
  rejected or that failed on the connection, ``rate``, gives ``1 - rate / max_error_rate``
  (0 from ``max_error_rate`` on);
* **latency**: ``max_latency_ms / lag`` once the venue's event lag passes ``max_latency_ms``;
* **silence**: 0 when the venue's last book event is older than ``stale_ms`` (0: never).

The host applies the weight to the consolidated book's weighted view and to the router
(each level's usable size is scaled by it), takes a venue at 0 out of the consolidated book,
and multiplies quote sizes on the venue by it. :attr:`VenueHealthWeights.last` keeps the last
weights with their factors.
"""

import collections
import time

from liqframe.builtin.risk import decimal_option, integer_option


class VenueHealthWeights:
    """Options: ``window_s`` (default ``"60"``), ``disconnect_penalty`` in [0, 1] (default
    ``"0.5"``), ``max_error_rate`` in (0, 1] (default ``"0.5"``), ``min_orders`` (default 5),
    ``max_latency_ms`` (> 0, default ``"500"``), ``stale_ms`` (0: off; default 10000)."""

    def __init__(self, *, window_s="60", disconnect_penalty="0.5", max_error_rate="0.5",
                 min_orders=5, max_latency_ms="500", stale_ms=10_000):
        self.window_ns = int(decimal_option("window_s", window_s, positive=True) * 10**9)
        self.penalty = float(decimal_option("disconnect_penalty", disconnect_penalty,
                                            maximum=1))
        self.max_error_rate = float(decimal_option("max_error_rate", max_error_rate,
                                                   positive=True, maximum=1))
        self.min_orders = integer_option("min_orders", min_orders, minimum=1)
        self.max_latency_ns = float(decimal_option("max_latency_ms", max_latency_ms,
                                                   positive=True)) * 1e6
        self.stale_ns = integer_option("stale_ms", stale_ms) * 1_000_000
        self.venues = {}  # venue -> _Record
        self.last = {}  # venue -> {"weight": w, factor: value, ...}

    def weight(self, venue, health, now_ns, wall_ns):
        """The weight of ``venue`` given its ``health`` (``RiskState.venue_health``) at
        monotonic time ``now_ns`` (``wall_ns``: the same instant on the wall clock, for the
        venue's event times)."""
        record = self.venues.setdefault(venue, _Record())
        up = health["status"] == "up"
        if record.up and not up:
            record.disconnects.append(now_ns)
        record.up = up
        while record.disconnects and now_ns - record.disconnects[0] >= self.window_ns:
            record.disconnects.popleft()
        factors = {"connection": 0.0, "errors": 1.0, "latency": 1.0, "silence": 1.0}
        if up and not health["stale"]:
            fading = sum(1 - (now_ns - t) / self.window_ns for t in record.disconnects)
            factors["connection"] = max(0.0, 1 - self.penalty * fading)
        record.counts.append((now_ns, health["orders_sent"],
                              health["orders_rejected"] + health["errors"]))
        while len(record.counts) > 1 and now_ns - record.counts[1][0] >= self.window_ns:
            record.counts.popleft()
        _, sent0, bad0 = record.counts[0]
        sent, bad = health["orders_sent"] - sent0, \
            health["orders_rejected"] + health["errors"] - bad0
        if sent >= self.min_orders:
            factors["errors"] = max(0.0, 1 - (bad / sent) / self.max_error_rate)
        lag = health.get("lag_ns")
        if lag is not None and lag > self.max_latency_ns:
            factors["latency"] = self.max_latency_ns / lag
        last = health.get("last_event_ns") or 0
        if self.stale_ns and up and last and wall_ns - last > self.stale_ns:
            factors["silence"] = 0.0
        weight = 1.0
        for value in factors.values():
            weight *= value
        weight = round(weight, 6)
        self.last[venue] = {"weight": weight, **factors}
        return weight

    # -- RiskModel --------------------------------------------------------------------------

    def adjust(self, quotes, state):
        return list(quotes)

    def veto(self, order, state):
        return None

    def venue_weights(self, state):
        now, wall = time.monotonic_ns(), time.time_ns()
        return {venue: self.weight(venue, state.venue_health(venue), now, wall)
                for venue in state.venues()}


class _Record:
    __slots__ = ("up", "disconnects", "counts")

    def __init__(self):
        self.up = False
        self.disconnects = collections.deque()
        self.counts = collections.deque()
