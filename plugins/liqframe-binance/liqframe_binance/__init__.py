"""Binance spot and USD-M futures order books for liqframe: registers the ``binance`` and
``binance-futures`` venue connectors."""

from liqframe.hookspecs import hookimpl
from liqframe_binance.connector import BinanceConnector, BinanceFuturesConnector

__all__ = ["BinanceConnector", "BinanceFuturesConnector"]


@hookimpl
def liqframe_venue_connectors():
    return {"binance": BinanceConnector, "binance-futures": BinanceFuturesConnector}
