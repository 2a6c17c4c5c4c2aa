"""Sequence checks that span more than one book.

Per-book ids (Binance ``U``/``u``/``pu``, OKX ``seqId``/``prevSeqId``, Deribit ``change_id``)
are checked by :meth:`liqframe.core.L2Book.advance` through :meth:`BookFeed.apply
<liqframe.connectors.feed.BookFeed.apply>`. Some venues number every message of a connection
instead (Coinbase Advanced Trade ``sequence_num``, Bitfinex's ``SEQ_ALL``): a lost message
could have belonged to any book, so :class:`ConnectionSequence` checks that chain and the
connector resynchronises every book on a break.
"""


class ConnectionSequence:
    """A counter that must go up by exactly one per message of a connection.

    :meth:`check` returns True for the first number seen and for each next one, False for a
    gap or a number going backwards (the chain then continues from the number received).
    :meth:`reset` forgets it, for a new connection whose numbering starts again.
    """

    __slots__ = ("last", "step")

    def __init__(self, step=1):
        self.last, self.step = None, step

    def check(self, number):
        last, self.last = self.last, number
        return last is None or number == last + self.step

    def reset(self):
        self.last = None
