"""What a connector counts while it runs, the figures ``liqframe replay --verify`` prints."""

KEYS = ("messages", "checksums_checked", "checksum_failures", "gaps", "resyncs",
        "applied", "stale_dropped", "snapshots", "reconnects")


class FeedStats:
    """Counters of one connector, all plain ints so the hot path pays one attribute add.

    - ``messages``: frames received from the venue (every channel, acks included);
    - ``checksums_checked`` / ``checksum_failures``: venue checksums compared with the book;
    - ``gaps``: sequence breaks found (each triggers a resync);
    - ``resyncs``: books resynchronised after a gap, a checksum failure, a bad message or a
      reconnect;
    - ``applied``: book messages applied; ``stale_dropped``: book messages dropped because
      the book already contained them (Binance's events older than the snapshot);
    - ``snapshots``: snapshots applied; ``reconnects``: connections re-opened after a loss.
    """

    __slots__ = KEYS

    def __init__(self):
        for key in KEYS:
            setattr(self, key, 0)

    def as_dict(self):
        return {key: getattr(self, key) for key in KEYS}

    def __repr__(self):
        return f"FeedStats({self.as_dict()})"
