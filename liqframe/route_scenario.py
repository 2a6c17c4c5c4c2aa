"""``liqframe route SCENARIO.json``: route one parent order over venues described in a file.

The scenario is a JSON object (see docs/howto/route-orders.rst)::

    {"order": {"side": "sell", "quantity": "100", "limit_price": "60000"},
     "venues": [{"name": "alpha", "taker_fee_bps": "7.5", "fixed_fee": "0", "min_size": "0.001",
                 "lot_size": "0.001", "balance": "60", "fill_probability": "0.98",
                 "latency_ms": "12", "bids": [["60050.5", "20"], ...], "asks": [...]}, ...]}

Numbers are decimal strings (JSON numbers are read as exact decimals too, never as floats).
The prices share one grid, the finest any of them uses, and the sizes another; fees and a buy's
balance are in quote currency, a sell's balance in base. Every bad field raises
:class:`~liqframe.errors.InvalidValue` naming it (``venues[1].bids[3][0]``).
"""

import contextlib
import json
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from liqframe.errors import InvalidValue, RouteError

ORDER_FIELDS = {"side", "quantity", "limit_price", "fallback_price"}
VENUE_FIELDS = {"name", "taker_fee_bps", "fixed_fee", "min_size", "lot_size", "balance",
                "fill_probability", "latency_ms", "weight", "bids", "asks"}


def load(path):
    """The parsed scenario file: a dict, numbers as Decimals."""
    try:
        with open(path, encoding="utf-8") as file:
            data = json.load(file, parse_float=Decimal, parse_int=Decimal)
    except OSError as error:
        raise InvalidValue("SCENARIO", str(path), f"cannot be read: {error.strerror}") from None
    except ValueError as error:
        raise InvalidValue("SCENARIO", str(path), f"is not valid JSON: {error}") from None
    return data


def _decimal(value, field, *, positive=False):
    if isinstance(value, bool) or not isinstance(value, str | Decimal):
        raise InvalidValue(field, value, "must be a decimal string such as \"1.25\"")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise InvalidValue(field, value, "is not a decimal number") from None
    if not number.is_finite():
        raise InvalidValue(field, value, "is not a finite number")
    if number < 0 or (positive and number == 0):
        raise InvalidValue(field, value, "must be positive" if positive else
                           "must not be negative")
    return number


def _places(number):
    return max(0, -number.normalize().as_tuple().exponent)


def _object(value, field, allowed):
    if not isinstance(value, dict):
        raise InvalidValue(field or "SCENARIO", type(value).__name__, "must be a JSON object")
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise InvalidValue(f"{field}.{unknown[0]}" if field else unknown[0], value[unknown[0]],
                           f"is not a known field (known: {', '.join(sorted(allowed))})")
    return value


def _levels(value, field):
    if not isinstance(value, list):
        raise InvalidValue(field, type(value).__name__, "must be a list of [price, size] pairs")
    rows = []
    for i, row in enumerate(value):
        if not isinstance(row, list) or len(row) != 2:
            raise InvalidValue(f"{field}[{i}]", row, "must be a [price, size] pair")
        rows.append((_decimal(row[0], f"{field}[{i}][0]", positive=True),
                     _decimal(row[1], f"{field}[{i}][1]")))
    return rows


class Scenario:
    """A parsed scenario on integer grids, ready to route."""

    def __init__(self, data):
        from liqframe._core.router import parse_side  # the core loads only when routing

        data = _object(data, "", {"order", "venues"})
        if "order" not in data:
            raise InvalidValue("order", None, "is missing: give side, quantity and optionally "
                                              "limit_price")
        order = _object(data["order"], "order", ORDER_FIELDS)
        for name in ("side", "quantity"):
            if name not in order:
                raise InvalidValue(f"order.{name}", None, "is missing")
        try:
            self.side = parse_side(order["side"]) if isinstance(order["side"], str) else None
        except InvalidValue:
            self.side = None
        if self.side is None:
            raise InvalidValue("order.side", order["side"], "is not 'buy' or 'sell'")
        self.quantity = _decimal(order["quantity"], "order.quantity", positive=True)
        self.limit = (None if order.get("limit_price") is None else
                      _decimal(order["limit_price"], "order.limit_price", positive=True))
        self.fallback = (None if order.get("fallback_price") is None else
                         _decimal(order["fallback_price"], "order.fallback_price",
                                  positive=True))
        venues = data.get("venues")
        if not isinstance(venues, list) or not venues:
            raise InvalidValue("venues", venues, "must be a non-empty list of venues")
        self.venues = [self._venue(v, f"venues[{i}]") for i, v in enumerate(venues)]
        names = [v["name"] for v in self.venues]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise InvalidValue(f"venues[{i}].name", name, "is already the name of a venue")
        prices = [p for v in self.venues for side in ("bids", "asks") for p, _ in v[side]]
        prices += [p for p in (self.limit, self.fallback) if p is not None]
        sizes = [s for v in self.venues for side in ("bids", "asks") for _, s in v[side]]
        sizes += [self.quantity] + [v[k] for v in self.venues for k in ("min_size", "lot_size")
                                    if v[k] is not None]
        if self.side < 0:
            sizes += [v["balance"] for v in self.venues if v["balance"] is not None]
        self.price_places = max(map(_places, prices), default=0)
        self.size_places = max(map(_places, sizes), default=0)

    @staticmethod
    def _venue(value, field):
        value = _object(value, field, VENUE_FIELDS)
        name = value.get("name")
        if not isinstance(name, str) or not name:
            raise InvalidValue(f"{field}.name", name, "must be a non-empty string")
        venue = {"name": name}
        for key, default, positive in (("taker_fee_bps", "0", False), ("fixed_fee", "0", False),
                                       ("min_size", "0", False), ("lot_size", None, True),
                                       ("balance", None, False),
                                       ("fill_probability", "1", False),
                                       ("latency_ms", "0", False), ("weight", "1", False)):
            raw = value.get(key, default)
            venue[key] = None if raw is None else _decimal(raw, f"{field}.{key}",
                                                           positive=positive)
        for key in ("fill_probability", "weight"):
            if venue[key] > 1:
                raise InvalidValue(f"{field}.{key}", value[key], "must be between 0 and 1")
        if venue["taker_fee_bps"] >= 10_000:
            raise InvalidValue(f"{field}.taker_fee_bps", value["taker_fee_bps"],
                               "must be below 10000")
        for side in ("bids", "asks"):
            venue[side] = _levels(value.get(side, []), f"{field}.{side}")
        return venue

    # --- grids --------------------------------------------------------------------------

    def ticks(self, price, field):
        return _count(price, self.price_places, field, "price")

    def lots(self, size, field):
        return _count(size, self.size_places, field, "size")


    def money(self, amount, rounding):
        """Quote currency to cost units (tick * lot / COST_SCALE)."""
        from liqframe._core.router import COST_SCALE

        scaled = amount * (10 ** (self.price_places + self.size_places) * COST_SCALE)
        return int(scaled.to_integral_value(rounding=rounding))

    def quote(self, cost_units):
        """Cost units back to quote currency, exactly."""
        from liqframe._core.router import COST_SCALE

        return _text(Decimal(cost_units).scaleb(-(self.price_places + self.size_places))
                     / COST_SCALE)

    # --- routing ------------------------------------------------------------------------

    def router(self, module):
        """A ``module.Router`` holding the scenario's venues."""
        from decimal import ROUND_CEILING, ROUND_FLOOR

        router = module.Router()
        for i, v in enumerate(self.venues):
            field = f"venues[{i}]"
            balance = v["balance"]
            kwargs = {}
            if balance is not None:
                if self.side < 0:
                    kwargs["base_balance"] = self.lots(balance, f"{field}.balance")
                else:
                    kwargs["quote_balance"] = self.money(balance, ROUND_FLOOR)
            lot = self.lots(v["lot_size"], f"{field}.lot_size") if v["lot_size"] else 1
            with _prefixed(f"{field}."):
                index = router.add_venue(
                    v["name"], taker_fee_bps=v["taker_fee_bps"],
                    fixed_fee=self.money(v["fixed_fee"], ROUND_CEILING),
                    min_size=self.lots(v["min_size"], f"{field}.min_size"), lot_size=lot,
                    fill_probability=v["fill_probability"], latency_ms=v["latency_ms"],
                    weight=v["weight"], **kwargs)
            for side, name in ((module.BID, "bids"), (module.ASK, "asks")):
                rows = [(self.ticks(p, f"{field}.{name}[{k}][0]"),
                         self.lots(s, f"{field}.{name}[{k}][1]"))
                        for k, (p, s) in enumerate(v[name])]
                with _prefixed(f"{field}.{name}", strip="levels"):
                    router.set_levels(index, side, rows)
        return router

    def route(self, module):
        router = self.router(module)
        book = "asks" if self.side > 0 else "bids"
        if not any(v[book] for v in self.venues):
            raise RouteError(f"venues[*].{book}: every venue's {book} are empty, nothing to "
                             f"{'buy from' if self.side > 0 else 'sell into'}")
        with _prefixed("order."):
            return router.route(
                self.side, self.lots(self.quantity, "order.quantity"),
                limit_price=None if self.limit is None else self.ticks(self.limit,
                                                                       "order.limit_price"),
                fallback_price=None if self.fallback is None else self.ticks(
                    self.fallback, "order.fallback_price"))

    def report(self, route):
        """The route as a JSON-ready dict of decimal strings."""
        def size(lots):
            return _text(Decimal(lots).scaleb(-self.size_places))

        def price(ticks):
            return _text(Decimal(ticks).scaleb(-self.price_places))

        average = None
        if route.filled:
            exact = Decimal(route.notional) / Decimal(route.filled)
            average = _text(exact.scaleb(-self.price_places).quantize(
                Decimal(1).scaleb(-(self.price_places + 8)), rounding=ROUND_HALF_EVEN))
        return {
            "side": "buy" if route.side > 0 else "sell",
            "quantity": size(route.quantity),
            "method": route.method,
            "children": [{"venue": c.name, "quantity": size(c.quantity),
                          "limit_price": price(c.limit_price),
                          "notional": self.quote(c.notional * _cost_scale()),
                          "fees": self.quote(c.fee), "expected_cost": self.quote(c.cost),
                          "delay_ms": _text(Decimal(c.delay_us) / 1000)}
                         for c in route.children],
            "filled": size(route.filled),
            "unfilled": size(route.quantity - route.filled),
            "average_price": average,
            "notional": self.quote(route.notional * _cost_scale()),
            "fees": self.quote(route.fees),
            "total": self.quote(route.cash),
            "expected_cost": self.quote(route.cost),
        }


@contextlib.contextmanager
def _prefixed(prefix, strip=""):
    """Re-raise the core's InvalidValue with the scenario's path in front of its field."""
    try:
        yield
    except InvalidValue as error:
        if error.field.startswith(("order.", "venues[")):
            raise
        raise InvalidValue(prefix + error.field.removeprefix(strip), error.value,
                           error.problem) from None


def _cost_scale():
    from liqframe._core.router import COST_SCALE

    return COST_SCALE


def _count(value, places, field, what):
    """``value`` on a grid of ``places`` decimals (the finest the scenario uses, so exact)."""
    return int(value.scaleb(places))


def _text(number):
    """A Decimal as plain text without exponent or trailing zeros."""
    text = format(number.normalize(), "f")
    return "0" if text in ("-0", "") else text


# --- the command ------------------------------------------------------------------------------


def add_route(subparsers):
    parser = subparsers.add_parser(
        "route", help="split one order across venues by expected all-in cost",
        description="Read a scenario (the order and each venue's fees, sizes, balance, fill "
                    "probability, latency and book) and print the child orders the smart "
                    "order router sends: venue, quantity, limit price and expected cost, then "
                    "the totals. Exits 2 on a malformed scenario, naming the field.")
    parser.add_argument("scenario", metavar="SCENARIO.json", help="the scenario file")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=cmd_route)


def cmd_route(args):
    import sys

    import orjson

    from liqframe import core
    from liqframe.errors import ConfigError

    try:
        scenario = Scenario(load(args.scenario))
        result = scenario.report(scenario.route(core))
    except (InvalidValue, RouteError) as error:
        raise ConfigError(str(error)) from None
    if args.json:
        sys.stdout.write(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode() + "\n")
        return 0
    _print(result)
    return 0


def _print(result):
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False, soft_wrap=True)
    table = Table(title=f"route: {result['side']} {result['quantity']} ({result['method']})")
    for column in ("venue", "quantity", "limit price", "expected cost", "send after ms"):
        table.add_column(column, justify="left" if column == "venue" else "right")
    for child in result["children"]:
        table.add_row(child["venue"], child["quantity"], child["limit_price"],
                      child["expected_cost"], child["delay_ms"])
    console.print(table)
    paid = "total cost including fees" if result["side"] == "buy" else (
        "total proceeds net of fees")
    console.print(f"filled {result['filled']} of {result['quantity']} "
                  f"(unfilled {result['unfilled']}); average price {result['average_price']}")
    console.print(f"{paid}: {result['total']} (fees {result['fees']}); expected all-in cost "
                  f"{result['expected_cost']}", markup=False)
