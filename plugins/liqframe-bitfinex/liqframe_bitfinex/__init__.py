"""Bitfinex order books for liqframe: registers the ``bitfinex`` venue connector."""

from liqframe.hookspecs import hookimpl
from liqframe_bitfinex.connector import BitfinexConnector

__all__ = ["BitfinexConnector"]


@hookimpl
def liqframe_venue_connectors():
    return {"bitfinex": BitfinexConnector}
