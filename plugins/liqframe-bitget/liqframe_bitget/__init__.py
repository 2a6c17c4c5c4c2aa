"""Bitget v1 order books for liqframe: registers the ``bitget`` venue connector."""

from liqframe.hookspecs import hookimpl
from liqframe_bitget.connector import BitgetConnector

__all__ = ["BitgetConnector"]


@hookimpl
def liqframe_venue_connectors():
    return {"bitget": BitgetConnector}
