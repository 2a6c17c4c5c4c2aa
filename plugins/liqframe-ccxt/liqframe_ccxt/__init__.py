"""Any ccxt exchange as a liqframe venue: registers the ``ccxt`` venue connector."""

from liqframe.hookspecs import hookimpl
from liqframe_ccxt.connector import CcxtConnector

__all__ = ["CcxtConnector"]


@hookimpl
def liqframe_venue_connectors():
    return {"ccxt": CcxtConnector}
