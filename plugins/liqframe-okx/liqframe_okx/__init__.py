"""OKX v5 order books for liqframe: registers the ``okx`` venue connector."""

from liqframe.hookspecs import hookimpl
from liqframe_okx.connector import OkxConnector

__all__ = ["OkxConnector"]


@hookimpl
def liqframe_venue_connectors():
    return {"okx": OkxConnector}
