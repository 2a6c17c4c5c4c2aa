"""Where the host's news goes: subscribers (the dashboard and API, tests) and the store.

:meth:`EventHub.subscribe` returns an :class:`asyncio.Queue` of ``(kind, data)`` tuples that
receives every event published from then on (a slow reader loses the oldest ones, never blocks
the host); :attr:`EventHub.hooks` are plain callables called with ``(kind, data)``. Events of
the kinds in :data:`DURABLE` are also written to the store's ``events`` table.
"""

import asyncio
import time

#: Kinds also written to the ``events`` table (book changes and orders are not: they have
#: tables of their own or are too many).
DURABLE = {"venue", "resync", "rejected", "reconcile", "error", "fill_unknown_order", "run",
           "kill", "route"}


class EventHub:
    def __init__(self, store=None, report=None):
        self.store, self.report = store, report
        self.hooks = []
        self._queues = []

    def subscribe(self, maxsize=10_000):
        queue = asyncio.Queue(maxsize)
        self._queues.append(queue)
        return queue

    def unsubscribe(self, queue):
        if queue in self._queues:
            self._queues.remove(queue)

    def publish(self, kind, data):
        for queue in self._queues:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait((kind, data))
        for hook in list(self.hooks):
            hook(kind, data)

    def event(self, kind, message, venue="", data=None, *, say=False):
        """Publish a described event; durable kinds go to the store, ``say`` to the operator."""
        record = {"message": message, "venue": venue, "ts_ns": time.time_ns(), **(data or {})}
        if kind in DURABLE and self.store is not None:
            self.store.record_event(kind, message, venue, data)
        if say and self.report is not None:
            self.report(message)
        self.publish(kind, record)
