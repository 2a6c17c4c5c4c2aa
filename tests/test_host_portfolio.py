"""Positions by average cost: realised and unrealised PnL in exact quote units."""

from fractions import Fraction

from liqframe.host.portfolio import Portfolio, Position
from liqframe.model import Fill, Instrument, Side

BTC = Instrument(base="BTC", quote="USDT", price_increment="0.01", size_increment="0.00001")


def test_long_then_flip_short():
    p = Position("a", "BTC/USDT")
    p.apply(Side.BID, 100, 4)
    p.apply(Side.BID, 110, 6)  # 10 long at 106
    assert (p.lots, p.cost / p.lots) == (10, 106)
    p.apply(Side.ASK, 120, 4)  # 4 closed at +14 each
    assert (p.lots, p.realised) == (6, 56)
    p.apply(Side.ASK, 90, 10)  # 6 closed at -16 each, 4 short at 90
    assert (p.lots, p.realised, p.cost) == (-4, 56 - 96, -360)
    assert p.unrealised(80) == Fraction(40)  # short 4 from 90, marked at 80
    p.apply(Side.BID, 95, 4)
    assert (p.lots, p.realised, p.cost) == (0, 56 - 96 - 20, 0)


def test_fills_move_balances_and_fees():
    portfolio = Portfolio({"BTC/USDT": BTC}, {"a": ["BTC/USDT"]})
    portfolio.balances["a"] = {"BTC": [1000, 1000], "USDT": [10_000_000, 10_000_000]}
    portfolio.on_fill(Fill(order_id="1", venue="a", symbol="BTC/USDT", side="buy", price=500,
                           size=100, fee="0.0000050", fee_currency="USDT", trade_id="1"))
    # 100 lots at 500 ticks = 50_000 tick-lots; the fee 0.000005 USDT is 50 tick-lots
    assert portfolio.inventory("a", "BTC") == 1100
    assert portfolio.inventory("a", "USDT") == 10_000_000 - 50_000 - 50
    [row] = portfolio.rows({"BTC/USDT": 510})
    assert row["position"] == "0.00100" and row["fills"] == 1
    assert abs(row["unrealised"] - 100 * 10 * 1e-7) < 1e-12
