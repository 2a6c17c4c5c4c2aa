"""The toolkit exchange connectors are built from; each exchange's own rules stay in its plugin.

- :mod:`~liqframe.connectors.session`: :class:`WebSocketSession`, a WebSocket that reconnects
  with :class:`Backoff` and resubscribes, plus REST GETs on the same client;
- :mod:`~liqframe.connectors.markets`: :class:`Market`, a venue's instrument with parsers from
  decimal strings straight to ticks and lots;
- :mod:`~liqframe.connectors.feed`: :class:`BookFeed`, one venue book (an L2Book) with its
  sequence check, checksum counting and reports to the host's VenueEvents;
- :mod:`~liqframe.connectors.sync`: :class:`SnapshotSync`, REST snapshot plus buffered diffs
  (Binance's documented procedure, generic over any venue of that shape);
- :mod:`~liqframe.connectors.sequence`: :class:`ConnectionSequence`, a connection-wide message
  counter (Coinbase ``sequence_num``);
- :mod:`~liqframe.connectors.stats`: :class:`FeedStats`, the counters ``liqframe replay
  --verify`` prints;
- :mod:`~liqframe.connectors.base`: :class:`StreamingConnector`, the VenueConnector skeleton a
  plugin subclasses (subscription, handle).
- :mod:`~liqframe.connectors.argbooks`: :class:`~liqframe.connectors.argbooks.ArgBooksConnector`,
  the ``arg``/``data`` book protocol OKX v5 and Bitget v1 share.
"""

from liqframe.connectors.base import PARSE_ERRORS, StreamingConnector
from liqframe.connectors.feed import BookFeed
from liqframe.connectors.markets import Market, markets_from_options, places, significant_places
from liqframe.connectors.sequence import ConnectionSequence
from liqframe.connectors.session import Backoff, ConnectionFailed, WebSocketSession
from liqframe.connectors.stats import FeedStats
from liqframe.connectors.sync import SnapshotSync

__all__ = [
    "PARSE_ERRORS", "Backoff", "BookFeed", "ConnectionFailed", "ConnectionSequence", "FeedStats",
    "Market", "SnapshotSync", "StreamingConnector", "WebSocketSession", "markets_from_options",
    "places", "significant_places",
]
