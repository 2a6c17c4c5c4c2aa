"""Deribit order books for liqframe: registers the ``deribit`` venue connector."""

from liqframe.hookspecs import hookimpl
from liqframe_deribit.connector import DeribitConnector

__all__ = ["DeribitConnector"]


@hookimpl
def liqframe_venue_connectors():
    return {"deribit": DeribitConnector}
