"""Kraken spot order books for liqframe: registers the ``kraken`` venue connector."""

from liqframe.hookspecs import hookimpl
from liqframe_kraken.connector import KrakenConnector

__all__ = ["KrakenConnector"]


@hookimpl
def liqframe_venue_connectors():
    return {"kraken": KrakenConnector}
