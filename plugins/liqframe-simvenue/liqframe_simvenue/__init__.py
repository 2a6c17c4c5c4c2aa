"""liqframe-simvenue: simulated exchanges on loopback and the connector that trades on them.

* :mod:`~liqframe_simvenue.exchange`: matching (liqframe's core Matcher), accounts, fees;
* :mod:`~liqframe_simvenue.market`: the shared reference price and FX rates;
* :mod:`~liqframe_simvenue.flow`: background traders (liquidity providers, noise, informed,
  arbitrageurs);
* :mod:`~liqframe_simvenue.server`: the aiohttp server (WebSocket book, REST orders);
* :mod:`~liqframe_simvenue.connector`: the ``simvenue`` venue connector.
"""

from liqframe.hookspecs import hookimpl
from liqframe_simvenue.connector import SimVenueConnector
from liqframe_simvenue.simulation import SimulatedVenue

__all__ = ["SimVenueConnector", "SimulatedVenue"]


@hookimpl
def liqframe_venue_connectors():
    return {"simvenue": SimVenueConnector}
