"""BitMEX order books for liqframe: registers the ``bitmex`` venue connector."""

from liqframe.hookspecs import hookimpl
from liqframe_bitmex.connector import BitmexConnector

__all__ = ["BitmexConnector"]


@hookimpl
def liqframe_venue_connectors():
    return {"bitmex": BitmexConnector}
