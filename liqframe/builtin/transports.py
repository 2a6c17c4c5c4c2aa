"""The in-process transport: events between components of one host, no network.

Subjects are dot-separated; a subscription ending in ``>`` receives every subject that starts
with what comes before it (``book.>`` gets ``book.sim-a.BTC/USDT``), as on NATS, so a host can
move to a bus transport without changing its subjects.
"""

import asyncio

from liqframe.hookspecs import hookimpl


class InProcessTransport:
    """Delivers each published payload to matching subscribers, in order, on the event loop."""

    def __init__(self, *, queue_size: int = 10_000):
        if not isinstance(queue_size, int) or queue_size < 1:
            raise ValueError(f"queue_size: {queue_size!r} must be a positive integer")
        self.queue_size = queue_size
        self._subscriptions = []
        self._queue = None
        self._task = None

    async def start(self):
        self._queue = asyncio.Queue(self.queue_size)
        self._task = asyncio.create_task(self._deliver(), name="inprocess-transport")

    async def publish(self, subject, payload):
        if self._queue is None:
            raise RuntimeError("the transport is not started")
        await self._queue.put((subject, payload))

    async def subscribe(self, subject, handler):
        self._subscriptions.append((subject, handler))

    async def stop(self):
        if self._task is not None:
            await self._queue.join()
            self._task.cancel()
            self._task = None

    async def _deliver(self):
        while True:
            subject, payload = await self._queue.get()
            try:
                for pattern, handler in self._subscriptions:
                    if _matches(pattern, subject):
                        await handler(subject, payload)
            finally:
                self._queue.task_done()


def _matches(pattern, subject):
    if pattern.endswith(">"):
        return subject.startswith(pattern[:-1])
    return pattern == subject


@hookimpl
def liqframe_transports():
    return {"inprocess": InProcessTransport}
