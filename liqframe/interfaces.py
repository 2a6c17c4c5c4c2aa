"""What the objects made by plugin factories look like (typing protocols).

The host calls these objects directly on its event loop. Everything crossing the boundary is a
frozen value type from :mod:`liqframe.model`, with prices and sizes in ticks and lots.
"""

from collections.abc import Awaitable, Callable, Mapping, Sequence
from decimal import Decimal
from typing import Protocol, runtime_checkable

from liqframe.model import (
    Balance,
    BookDelta,
    Fill,
    Instrument,
    Order,
    ParentOrder,
    Quote,
    Transfer,
)


@runtime_checkable
class MarketState(Protocol):
    """What strategies, risk models and rebalancers read: the host's view of the market."""

    def best(self, venue: str, symbol: str) -> tuple[int | None, int | None]:
        """Best bid and ask price of ``symbol`` on ``venue`` in ticks (None when empty)."""

    def mid(self, symbol: str) -> int | None:
        """Consolidated mid price of ``symbol`` in ticks, rounded down (None when one-sided)."""

    def inventory(self, venue: str, asset: str) -> int:
        """Our holding of ``asset`` on ``venue`` in its smallest units."""


@runtime_checkable
class RiskState(MarketState, Protocol):
    """The host's market state also offers these reads (risk models and strategies may rely on
    them when they run in the host; a backtest's state may not have them)."""

    def venues(self) -> Mapping[str, Sequence[str]]:
        """Each venue's symbols."""

    def instrument(self, symbol: str) -> Instrument:
        """The configured instrument ``symbol``."""

    def position(self, venue: str, symbol: str) -> int:
        """Our net position in ``symbol`` on ``venue`` in lots (long > 0), from our fills."""

    def value(self, amount: Decimal, currency: str, target: str) -> Decimal | None:
        """``amount`` of ``currency`` in ``target`` at the venues' published rates (None while
        a rate is unknown)."""

    def pnl(self, currency: str) -> Decimal | None:
        """Realised plus unrealised PnL, less fees, of every position, in ``currency``."""

    def holdings(self, venue: str, currency: str) -> Decimal | None:
        """The value in ``currency`` of everything we hold on ``venue`` (base assets at the
        consolidated mid): what we would lose if the venue failed."""

    def venue_health(self, venue: str) -> Mapping[str, object]:
        """The venue's health: ``status`` (starting, up, down, failed, stopped), ``stale``,
        ``lag_ns``, ``connects``, ``last_event_ns`` (venue time of its last book event),
        ``orders_sent``, ``orders_rejected`` and ``errors`` (counts since start)."""


@runtime_checkable
class VenueEvents(Protocol):
    """What the host gives a connector to report into; every call returns at once.

    The host also takes a whole message of book changes in one call, when a connector can
    give it as int64 columns: ``on_book_columns(symbol, sides, prices, sizes, sequence,
    event_ns, received_ns)`` (optional, found with ``getattr``; the connector toolkit's
    :class:`~liqframe.connectors.feed.BookFeed` uses it when present, ``on_delta`` otherwise).
    A host that keeps each symbol's changes in a :class:`~liqframe.core.ConsolidatedBook` and
    needs nothing else per message may instead define ``book_sink(symbol)``, returning a
    :class:`~liqframe.core.BookSink` (or None for that symbol): a compiled BookFeed then applies
    each message to the consolidated book without a Python call.
    """

    def on_snapshot(self, symbol: str, bids: Sequence[tuple[int, int]],
                    asks: Sequence[tuple[int, int]], sequence: int, event_ns: int) -> None: ...
    def on_delta(self, delta: BookDelta) -> None: ...
    def on_fill(self, fill: Fill) -> None: ...
    def on_order(self, order: Order) -> None: ...
    def on_status(self, up: bool, reason: str) -> None: ...

    def on_rate(self, currency: str, numeraire: str, rate: Decimal) -> None:
        """The value of one ``currency`` in ``numeraire`` as the venue publishes it (an index
        or conversion feed); the host converts venues quoted in different currencies with it.
        Optional for connectors: call it only if the venue has such a feed."""


@runtime_checkable
class VenueConnector(Protocol):
    """A connection to one venue: market data in, orders out.

    Balances are in the asset's smallest unit for the venue's instrument
    (:meth:`liqframe.model.Instrument.asset_unit`). Fills should carry the venue's
    ``trade_id``: the host stores each ``(venue, trade_id)`` once. A factory whose signature
    names ``instrument_details``, ``maker_fee_bps`` or ``taker_fee_bps`` receives them from
    the venue's configuration. The host also uses these methods when a connector has them
    (see :class:`ReconcilingConnector`)."""

    async def start(self, events: VenueEvents) -> None:
        """Connect and start streaming into ``events``; return once subscribed."""

    async def stop(self) -> None:
        """Close every connection; idempotent."""

    async def place_order(self, order: Order) -> str:
        """Send ``order``; return the venue's order id. Raise on rejection."""

    async def cancel_order(self, venue_order_id: str) -> None: ...

    async def open_orders(self) -> Sequence[Order]:
        """The venue's view of our open orders, for reconciliation after a reconnect."""

    async def balances(self) -> Sequence[Balance]: ...


@runtime_checkable
class ReconcilingConnector(Protocol):
    """Optional extras of a :class:`VenueConnector` the host uses when present."""

    async def resync(self, symbol: str) -> None:
        """Get a fresh book snapshot of ``symbol`` (after a sequence gap)."""

    async def recent_fills(self, after: str | None) -> Sequence[Fill]:
        """Our fills after trade id ``after`` (all the venue keeps when None), oldest first:
        what the host missed while disconnected or stopped."""

    async def query_order(self, order_id: str) -> Order | None:
        """The venue's view of our order ``order_id`` (our id), or None if it never saw it."""


@runtime_checkable
class QuotingStrategy(Protocol):
    """Turns the market state into the quotes wanted on each venue."""

    def quotes(self, state: MarketState) -> Sequence[Quote]: ...


@runtime_checkable
class FillAwareStrategy(Protocol):
    """Optional extra of a :class:`QuotingStrategy`: it hears about each of our new fills.

    The host calls ``on_fill`` once per new fill (after the store recorded it and the
    portfolio counted it) on every strategy that has the method. The orders returned are sent
    at once: a :class:`~liqframe.model.ParentOrder` goes through the router, which splits it
    over the consolidated book into immediate-or-cancel child orders per venue; an
    :class:`~liqframe.model.Order` goes to its own venue as given. Every order passes the
    risk models' ``veto`` first. Cross-exchange market making hedges its maker fills this way."""

    def on_fill(self, fill: Fill, state: MarketState) -> Sequence[ParentOrder | Order]: ...


@runtime_checkable
class RiskModel(Protocol):
    """Adjusts and vetoes what strategies and the router want to do."""

    def adjust(self, quotes: Sequence[Quote], state: MarketState) -> Sequence[Quote]:
        """Return the quotes to send: sizes scaled, some dropped."""

    def veto(self, order: Order, state: MarketState) -> str | None:
        """Return a reason to refuse ``order``, or None to let it through."""

    def venue_weights(self, state: MarketState) -> Mapping[str, float]:
        """Weight in [0, 1] for each venue in the consolidated book and in quoting.

        The host takes, per venue, the lowest weight any model gives (1 when none does). The
        weight scales the venue's contribution to the consolidated book's weighted view and
        the router's usable depth there; a venue at 0 leaves the consolidated book (and the
        mid). Quote sizes on the venue are multiplied by it (rounded down; 0 drops the quote)."""


@runtime_checkable
class KillSwitch(Protocol):
    """Optional extra of a :class:`RiskModel`: a reason to stop trading altogether.

    The host asks after every tick, every new fill and every vetoed order. When one model
    returns a reason the host trips its kill switch: it records a ``kill`` event, cancels
    every open order on every venue (ours and any the venue lists), stops quoting and refuses
    every new order until :meth:`liqframe.host.Host.reset_kill_switch` or a restart. The
    live status and ``Host.snapshot()["kill_switch"]`` show it."""

    def kill_switch(self, state: MarketState) -> str | None:
        """A reason to stop all trading now, or None."""

    def reset(self) -> None:
        """Forget the breach that tripped the switch (called by a reset; optional)."""


@runtime_checkable
class Rebalancer(Protocol):
    """Plans movements of capital between venues."""

    def plan(self, balances: Sequence[Balance], state: MarketState) -> Sequence[Transfer]: ...


@runtime_checkable
class Transport(Protocol):
    """Carries events between nodes."""

    async def start(self) -> None: ...
    async def publish(self, subject: str, payload: bytes) -> None: ...
    async def subscribe(self, subject: str,
                        handler: Callable[[str, bytes], Awaitable[None]]) -> None: ...
    async def stop(self) -> None: ...


#: The protocol each plugin kind's factories must produce.
KIND_PROTOCOLS = {
    "venue": VenueConnector,
    "strategy": QuotingStrategy,
    "risk": RiskModel,
    "rebalancer": Rebalancer,
    "transport": Transport,
}
