"""One simulated venue, assembled: exchange + background flow + server, in a shared market."""

from liqframe_simvenue.exchange import Exchange
from liqframe_simvenue.flow import BackgroundFlow
from liqframe_simvenue.market import release_market, shared_market
from liqframe_simvenue.server import VenueServer

DEFAULT_BALANCE = {"base": "10", "quote": "1000000"}


class SimulatedVenue:
    """Builds the venue's parts at once (so bad settings fail early); :meth:`start` puts it
    on 127.0.0.1 and joins the market, :meth:`stop` takes it down."""

    def __init__(self, name, symbol, instrument, *, api_key="demo-key", balances=None,
                 maker_fee_bps="0", taker_fee_bps="0", flow=None, market="default",
                 reference=None, seed=1, server=None):
        if balances is None:
            balances = {instrument.base: DEFAULT_BALANCE["base"],
                        instrument.quote: DEFAULT_BALANCE["quote"]}
        if not isinstance(balances, dict):
            raise ValueError(f"balances: expected a table of asset = \"amount\", got {balances!r}")
        self.exchange = Exchange(name=name, symbol=symbol, instrument=instrument,
                                 accounts={api_key: balances}, maker_fee_bps=maker_fee_bps,
                                 taker_fee_bps=taker_fee_bps)
        self.market_name = market
        self.market = shared_market(market, **(reference or {}))
        self.flow = BackgroundFlow(self.exchange, seed=seed, settings=flow)
        self.server = VenueServer(self.exchange, seed=seed, **(server or {}))
        self.url = None

    async def start(self):
        self.url = await self.server.start()
        self.market.attach(self.flow)
        await self.market.start()
        return self.url

    async def stop(self):
        if self.url is None:
            return
        self.market.detach(self.flow)
        await self.market.stop()
        release_market(self.market_name, self.market)
        await self.server.stop()
        self.url = None
