"""Bybit v5 order books for liqframe: registers the ``bybit`` venue connector."""

from liqframe.hookspecs import hookimpl
from liqframe_bybit.connector import BybitConnector

__all__ = ["BybitConnector"]


@hookimpl
def liqframe_venue_connectors():
    return {"bybit": BybitConnector}
