"""liqframe-risk: risk models for the host.

* ``ewma-volatility`` (:mod:`~liqframe_risk.volatility`): the EWMA volatility of each
  instrument's consolidated mid scales quote sizes down and spreads out when it runs above a
  target;
* ``venue-health`` (:mod:`~liqframe_risk.health`): disconnects, reject and error rate,
  latency and a silent or stale book make a venue's weight in [0, 1], used by the
  consolidated book, the router and quoting;
* ``exposure`` (:mod:`~liqframe_risk.exposure`): what we hold on a venue (its counterparty
  risk) above a limit stops quoting and trading there.

The position, notional and daily-loss limits and the kill switch are liqframe's built-in
``limits`` model.
"""

from liqframe.hookspecs import hookimpl
from liqframe_risk.exposure import Exposure
from liqframe_risk.health import VenueHealthWeights
from liqframe_risk.volatility import EwmaVolatility

__all__ = ["EwmaVolatility", "Exposure", "VenueHealthWeights"]


@hookimpl
def liqframe_risk_models():
    return {"ewma-volatility": EwmaVolatility, "venue-health": VenueHealthWeights,
            "exposure": Exposure}
