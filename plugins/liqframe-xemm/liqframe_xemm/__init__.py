"""Cross-exchange market making: quote on one maker venue around the price the other venues
would pay or take, and hedge every maker fill on them through the host's router.

The bid on the maker venue is the best bid among the hedge venues less the costs of the round
trip (the maker venue's maker fee, the dearest hedge venue's taker fee, and ``margin_bps``);
the ask is the best hedge ask plus the same costs. A fill of our bid (we bought on the maker
venue) is hedged at once by a sell of the same size routed over the hedge venues, no lower
than ``max_slippage_bps`` under the fill price; a fill of our ask by a buy, no higher than that
above it. Prices are exact: decimals in, whole ticks out, rounded away from the hedge price.
"""

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from liqframe.builtin.risk import decimal_option, integer_option, text_option
from liqframe.errors import InvalidValue
from liqframe.hookspecs import hookimpl
from liqframe.model import ParentOrder, Quote, Side

BPS = Decimal(10_000)


class CrossExchange:
    """Options: ``maker_venue`` (required, one of the strategy's venues), ``hedge_venues``
    (default: the strategy's other venues), ``size_lots`` (> 0), ``margin_bps`` (default
    ``"2"``), ``max_slippage_bps`` (default ``"50"``). The host passes the venues' fees."""

    def __init__(self, *, symbol, venues, maker_venue=None, hedge_venues=None, size_lots=1,
                 margin_bps="2", max_slippage_bps="50", venue_maker_fees_bps=None,
                 venue_taker_fees_bps=None):
        self.symbol = symbol
        self.maker = text_option("maker_venue", maker_venue)
        if self.maker not in venues:
            raise InvalidValue("maker_venue", maker_venue,
                               f"is not one of the strategy's venues ({', '.join(venues)})")
        if hedge_venues is None:
            hedge_venues = [v for v in venues if v != self.maker]
        if not isinstance(hedge_venues, list) or not hedge_venues:
            raise InvalidValue("hedge_venues", hedge_venues,
                               "must be a non-empty list of the strategy's other venues")
        for venue in hedge_venues:
            if venue not in venues or venue == self.maker:
                raise InvalidValue("hedge_venues", venue, "is not another venue of the "
                                   f"strategy ({', '.join(v for v in venues if v != self.maker)})")
        self.hedges = list(hedge_venues)
        self.size = integer_option("size_lots", size_lots, minimum=1)
        self.margin = decimal_option("margin_bps", margin_bps) / BPS
        self.slippage = decimal_option("max_slippage_bps", max_slippage_bps,
                                       maximum=BPS) / BPS
        makers, takers = venue_maker_fees_bps or {}, venue_taker_fees_bps or {}
        self.maker_fee = Decimal(str(makers.get(self.maker, 0))) / BPS
        self.taker_fee = max(Decimal(str(takers.get(v, 0))) for v in self.hedges) / BPS
        self.hedged = 0  # lots sent to hedging

    def costs(self):
        """The round trip's costs as a fraction of the price."""
        return self.maker_fee + self.taker_fee + self.margin

    def prices(self, state):
        """(bid, ask) to quote on the maker venue, either None when the hedge side is empty."""
        bids, asks = [], []
        for venue in self.hedges:
            bid, ask = state.best(venue, self.symbol)
            if bid is not None:
                bids.append(bid)
            if ask is not None:
                asks.append(ask)
        costs = self.costs()
        bid = int((max(bids) * (1 - costs)).to_integral_value(ROUND_FLOOR)) \
            if bids else None
        ask = int((min(asks) * (1 + costs)).to_integral_value(ROUND_CEILING)) \
            if asks else None
        if bid is not None and bid <= 0:
            bid = None
        return bid, ask

    def quotes(self, state):
        bid, ask = self.prices(state)
        if bid is None and ask is None:
            return []
        if bid is not None and ask is not None and bid >= ask:
            return []
        return [Quote(venue=self.maker, symbol=self.symbol,
                      bid_price=bid, bid_size=self.size if bid is not None else 0,
                      ask_price=ask, ask_size=self.size if ask is not None else 0)]

    def on_fill(self, fill, state):
        """Hedge a fill of our maker quote: the opposite side, same size, over the router."""
        if fill.venue != self.maker or fill.symbol != self.symbol:
            return []
        side = Side.ASK if fill.side is Side.BID else Side.BID
        if side is Side.ASK:  # we bought: sell no lower than the slippage allows
            limit = int((fill.price * (1 - self.slippage)).to_integral_value(ROUND_CEILING))
        else:
            limit = int((fill.price * (1 + self.slippage)).to_integral_value(ROUND_FLOOR))
        self.hedged += fill.size
        return [ParentOrder(symbol=self.symbol, side=side, size=fill.size,
                            limit_price=max(1, limit), venues=self.hedges,
                            tag=f"xemm hedge of {fill.venue} {fill.trade_id}")]


@hookimpl
def liqframe_quoting_strategies():
    return {"xemm": CrossExchange}
