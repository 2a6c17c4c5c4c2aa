"""Coinbase Advanced Trade order books for liqframe: registers the ``coinbase`` connector."""

from liqframe.hookspecs import hookimpl
from liqframe_coinbase.connector import CoinbaseConnector

__all__ = ["CoinbaseConnector"]


@hookimpl
def liqframe_venue_connectors():
    return {"coinbase": CoinbaseConnector}
