"""Cross-exchange market making end to end: the host quotes on the maker venue around the
hedge venues' prices, the test fills that quote as another trader, and the hedge must reach the
other venues through the router, in the routed quantities, as the venues' own fills show."""

import asyncio
from decimal import Decimal

import pytest

from liqframe.testing.world import QUIET, SimWorld, wait_for

BUY, SELL = 1, -1
STRATEGY = ('[[strategies]]\nname = "xemm"\nplugin = "xemm"\ninstrument = "BTC/USDT"\n'
            'options = { maker_venue = "m", size_lots = 1000, margin_bps = "2" }\n')
RISK = '[[risk]]\nplugin = "limits"\noptions = { max_order_lots = 100000 }\n'


@pytest.fixture
async def world():
    w = SimWorld()
    # the maker venue has no liquidity providers: our quotes are its book
    await w.add("m", flow={**QUIET, "maker_levels": 0})
    # h1 is tighter but thin, h2 wider and deep; neither refreshes, so the router's view holds
    await w.add("h1", flow={**QUIET, "maker_spread_bps": "2", "maker_size_lots": 300,
                            "maker_refresh": "0"})
    await w.add("h2", flow={**QUIET, "maker_refresh": "0"})
    yield w
    await w.stop()


async def test_a_maker_fill_is_hedged_through_the_router_on_the_other_venues(world, tmp_path):
    lines = []
    host = world.host(world.config(STRATEGY, RISK), tmp_path / "h.db", lines)
    events = host.hub.subscribe()
    run = asyncio.create_task(host.run(None))
    try:
        assert await wait_for(lambda: world.resting("m", BUY) and world.resting("m", SELL), 10)
        assert not world.resting("h1", BUY) and not world.resting("h2", BUY)  # quotes on m only
        [bid] = world.resting("m", BUY)
        # the bid is the best hedge bid less maker fee 1, taker fee 5 and margin 2 bps
        best = max(world.venues[v].exchange.best()[0] for v in ("h1", "h2"))
        assert bid.price == int(Decimal(best) * (1 - Decimal("0.0008")))
        taken = world.take("m", SELL, bid.price, bid.size)  # we buy 1000 lots on m
        assert taken.filled == 1000

        async def routed():
            while True:
                kind, data = await events.get()
                if kind == "route":
                    return data

        route = await asyncio.wait_for(routed(), 5)
        assert route["side"] == "ask" and route["size"] == 1000 and route["unrouted"] == 0
        children = {c["venue"]: c for c in route["children"]}
        assert set(children) == {"h1", "h2"}  # h1 alone is too thin for 1000 lots
        assert sum(c["size"] for c in children.values()) == 1000

        def hedged():
            done = {}
            for venue, child in children.items():
                exchange, account = world.account(venue)
                done[venue] = sum(exchange.instrument.size_lots(f["size"])
                                  for f in account.fills if f["client_id"] == child["id"]
                                  and f["side"] == "sell")
            return done if all(done[v] == children[v]["size"] for v in children) else None

        assert await wait_for(hedged, 5), (children, lines)
        assert world.account("m")[1].fills[0]["side"] == "buy"
        # the host counted it: flat across venues (bought 1000 on m, sold 1000 elsewhere)
        assert await wait_for(lambda: sum(host.market.position(v, "BTC/USDT")
                                          for v in ("m", "h1", "h2")) == 0, 5)
        assert host.market.position("m", "BTC/USDT") == 1000
        # the hedges went out as immediate-or-cancel child orders, nothing rests on h1/h2
        assert await world.open_orders("h1") == [] and await world.open_orders("h2") == []
    finally:
        host.stop()
        await run
