"""The API's route table: one declaration per endpoint, read by the request parser
(:mod:`liqframe.web.api`) and by the OpenAPI generator (:mod:`liqframe.web.openapi`), so what is
documented is what is checked.

Parameter bounds that depend on the running host (venue names, assets, the deepest tier) are
callables of a :class:`Context`; the OpenAPI document is built per app with them filled in.
"""

import attrs


@attrs.frozen
class Context:
    """What parameter choices depend on: the host's names and the app's tiers."""

    assets: tuple
    venues: tuple
    symbols: tuple
    max_depth: int


@attrs.frozen
class Param:
    name: str
    kind: str  # "integer" or "string"
    description: str
    default: object = None
    minimum: int | None = None
    maximum: object = None  # int, or Context -> int
    choices: object = None  # tuple, or Context -> tuple
    where: str = "query"

    def bounds(self, context):
        maximum = self.maximum(context) if callable(self.maximum) else self.maximum
        choices = self.choices(context) if callable(self.choices) else self.choices
        return maximum, choices

    def default_for(self, context):
        return self.default(context) if callable(self.default) else self.default


@attrs.frozen
class Route:
    path: str
    name: str  # operationId, and the handler's name in liqframe.web.api
    summary: str
    response: dict  # JSON schema of the 200 body
    params: tuple = ()
    tag: str = "market"


# --- JSON schemas of the answers -----------------------------------------------------------

DECIMAL = {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$",
           "description": "exact decimal number as text"}
MAYBE_DECIMAL = {"anyOf": [DECIMAL, {"type": "null"}]}
NUMBER = {"type": "number"}
INTEGER = {"type": "integer"}
TEXT = {"type": "string"}
BOOLEAN = {"type": "boolean"}


def _object(properties, required=None):
    return {"type": "object", "properties": properties,
            "required": list(required if required is not None else properties)}


def _array(items):
    return {"type": "array", "items": items}


LEVEL = _object({"price": DECIMAL, "size": DECIMAL,
                 "venues": {"type": "object", "additionalProperties": DECIMAL,
                            "description": "venue -> size it holds at this price"}})
CONSOLIDATED = _object({"asset": TEXT, "symbol": TEXT, "currency": TEXT, "view": TEXT,
                        "ts_ns": INTEGER, "bid": MAYBE_DECIMAL, "ask": MAYBE_DECIMAL,
                        "bids": _array(LEVEL), "asks": _array(LEVEL)})
VENUE_BOOK = _object({"venue": TEXT, "symbol": TEXT, "stale": BOOLEAN, "status": TEXT,
                      "ts_ns": INTEGER,
                      "bids": _array(_array(DECIMAL)), "asks": _array(_array(DECIMAL))})
VENUE_ROW = _object({"venue": TEXT, "symbol": TEXT, "status": TEXT, "ready": BOOLEAN,
                     "stale": BOOLEAN, "reason": TEXT, "bid": MAYBE_DECIMAL,
                     "ask": MAYBE_DECIMAL, "lag_ms": {"type": ["number", "null"]},
                     "gaps": INTEGER, "resyncs": INTEGER, "connects": INTEGER},
                    ["venue", "symbol", "status", "ready", "stale", "bid", "ask"])
BBO = _object({"ts_ns": INTEGER,
               "venues": _array(_object({"venue": TEXT, "symbol": TEXT, "bid": MAYBE_DECIMAL,
                                         "ask": MAYBE_DECIMAL, "status": TEXT,
                                         "stale": BOOLEAN})),
               "consolidated": {"type": "object", "additionalProperties": _object(
                   {"symbol": TEXT, "currency": TEXT, "bid": MAYBE_DECIMAL,
                    "ask": MAYBE_DECIMAL, "mid": MAYBE_DECIMAL})}})
ORDER = _object({"id": TEXT, "venue": TEXT, "symbol": TEXT, "side": {"enum": ["buy", "sell"]},
                 "price": MAYBE_DECIMAL, "size": DECIMAL, "filled": DECIMAL, "status": TEXT},
                ["id", "venue", "symbol", "side", "price", "size", "filled", "status"])
FILL = _object({"id": INTEGER, "venue": TEXT, "trade_id": TEXT, "order_id": TEXT,
                "symbol": TEXT, "side": {"enum": ["buy", "sell"]}, "price": DECIMAL,
                "size": DECIMAL, "fee": DECIMAL, "fee_currency": TEXT, "liquidity": TEXT,
                "event_ns": INTEGER})
BALANCE = _object({"venue": TEXT, "asset": TEXT, "total": DECIMAL, "available": DECIMAL})
METRIC_ROW = _object({
    "venue": TEXT, "symbol": TEXT, "base": TEXT, "quote": TEXT, "status": TEXT,
    "ready": BOOLEAN, "open_orders": INTEGER, "fills": INTEGER, "volume": DECIMAL,
    "position": DECIMAL, "exposure": NUMBER, "realised": NUMBER, "unrealised": NUMBER,
    "fees": NUMBER, "pnl": NUMBER, "weight": NUMBER, "gaps": INTEGER, "resyncs": INTEGER},
    ["venue", "symbol", "status", "volume", "position", "exposure", "realised", "fees", "pnl"])
METRICS = _object({"ts_ns": INTEGER, "run_id": {"type": ["integer", "null"]},
                   "elapsed_s": NUMBER, "venues": _array(METRIC_ROW),
                   "orders": _object({"open": INTEGER, "sent": INTEGER, "rejected": INTEGER,
                                      "cancelled": INTEGER}),
                   "crossings": INTEGER,
                   "totals": {"type": "object", "additionalProperties": _object(
                       {"fees": NUMBER, "realised": NUMBER, "pnl": NUMBER,
                        "fills": INTEGER})}})
EVENT = _object({"id": INTEGER, "kind": TEXT, "ts_ns": INTEGER, "venue": TEXT, "message": TEXT},
                ["id", "kind", "ts_ns"])
TIER = _object({"name": TEXT, "min_size": DECIMAL, "depth": INTEGER, "rate": INTEGER,
                "burst": INTEGER})
ERROR = _object({"error": TEXT})

# --- parameters ----------------------------------------------------------------------------


def _depth(default):
    return Param("depth", "integer", "Levels per side (at most your tier's depth).",
                 default=lambda c: min(default, c.max_depth), minimum=1,
                 maximum=lambda c: c.max_depth)


VENUE_FILTER = Param("venue", "string", "Only this venue.", choices=lambda c: c.venues)
LIMIT = Param("limit", "integer", "Most rows to return, newest first.", default=100, minimum=1,
              maximum=1000)

ROUTES = (
    Route("/api/book", "consolidated_book",
          "Consolidated book across venues: top levels with each venue's size.", CONSOLIDATED,
          (Param("asset", "string", "Base asset of the book (default: the first).",
                 default=lambda c: c.assets[0], choices=lambda c: c.assets),
           _depth(20),
           Param("view", "string", "raw sizes; weighted by the risk models' venue weights; or "
                 "fees folded into prices.", default="raw", choices=("raw", "weighted",
                                                                     "fees")))),
    Route("/api/venues", "venues", "Every venue's connection health and best prices.",
          _array(VENUE_ROW)),
    Route("/api/venues/{venue}/book", "venue_book", "One venue's own book, in its prices.",
          VENUE_BOOK,
          (Param("venue", "string", "Venue name.", choices=lambda c: c.venues, where="path"),
           Param("symbol", "string", "Instrument (default: the venue's first).",
                 choices=lambda c: c.symbols),
           _depth(20))),
    Route("/api/bbo", "best_bid_offer", "Best bid and offer of every venue and consolidated.",
          BBO),
    Route("/api/orders", "orders", "Orders: the open ones (live) or the latest stored.",
          _array(ORDER),
          (Param("status", "string", "open: working now; all: latest stored in any state.",
                 default="open", choices=("open", "all")), VENUE_FILTER, LIMIT), "trading"),
    Route("/api/fills", "fills", "Fills of our orders, newest first.", _array(FILL),
          (VENUE_FILTER, LIMIT,
           Param("after_id", "integer", "Only fills stored after this id.", default=0,
                 minimum=0, maximum=2**62)), "trading"),
    Route("/api/balances", "balances", "Each venue's balances.", _array(BALANCE), (),
          "trading"),
    Route("/api/metrics", "metrics", "Volume, fees, realised and total PnL, inventory, "
          "exposure, weights and health per venue.", METRICS, (), "trading"),
    Route("/api/events", "events", "The latest host events (venues, resyncs, errors...).",
          _array(EVENT), (LIMIT,), "host"),
    Route("/api/tier", "tier", "The tier of the key making the request.", TIER, (), "host"),
)
