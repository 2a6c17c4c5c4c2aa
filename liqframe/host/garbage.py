"""Garbage collection during a run, kept short enough not to hold up the event loop.

CPython's collector runs inside whichever callback happens to allocate, and a collection's
pause grows with what it walks. Four measures keep every pause short and out of the way:

* what exists when the run starts (modules, plugins, configuration, the market's set-up: a
  few hundred thousand objects) is frozen, so that no collection walks it again;
* the young generations are kept small (:data:`THRESHOLDS`);
* on the loop ``liqframe run`` uses, the young collections are made between turns of the
  loop, while it would wait anyway, not inside a unit of work (see :meth:`Collector.start`);
* whatever survives a collection of the middle generation is frozen too, so the oldest
  generation stays empty and a full collection walks no more than a young one does. Without
  this, the long-lived objects of a run (a hundred WebSocket clients, their connections and
  tasks, the settled orders kept for the dashboard: some ten thousand objects) made each full
  collection pause the loop for 3 to 13 ms.

A frozen object is still freed by reference counting as soon as nothing refers to it; only
a frozen *reference cycle* that became garbage stays until a full collection. Closed network
connections leave such cycles (asyncio's socket transports and aiohttp's request handlers
refer to themselves: some 30 to 50 objects a connection), and so may plugins. So every
``host.gc_sweep_s`` seconds the host sweeps: a full collection of everything, frozen or not,
which takes tens of milliseconds (the one long pause it allows, at a known pace), and says in
the event log what it freed.
"""

import gc
import time

from liqframe.host import scheduling

#: Garbage collection thresholds during a run: the youngest generation after this many new
#: containers (CPython's default is 700), the middle one after this many collections of the
#: youngest (default 10), the oldest after this many of the middle one (it is empty, see
#: above). A young collection's pause grows with the generation's size: with a hundred
#: dashboard clients served, 0.1-0.2 ms for the youngest and 0.15-0.3 ms for the middle one
#: here, against 0.15-0.3 and 0.3-0.6 ms at (350, 4) and up to 1 ms and more with the defaults.
#: Collecting more often freezes no more garbage: what outlives the middle generation is the
#: same connections and orders either way.
THRESHOLDS = (200, 2, 10)

#: The collector's own thresholds while the young collections run between turns (see
#: :meth:`Collector.start`): only a loop that never waits leaves them to it.
BACKSTOP = (1000, 2, 10)


class Collector:
    """Owns the garbage collector's settings for the length of a run: :meth:`start` freezes
    the heap and sets :data:`THRESHOLDS`, :meth:`stop` puts back what it found."""

    def __init__(self):
        self._thresholds = None
        self.idle_collections = 0

    def start(self, loop=None):
        """Freeze the heap and take over the thresholds. On ``loop``, when it runs idle work
        (:func:`liqframe.host.scheduling.set_idle_work`: the event loop ``liqframe run``
        uses), the young collections are made there, between turns, at :data:`THRESHOLDS`:
        a collection then never adds its pause to a callback's (each took 0.1-0.45 ms, and
        landed in the middle of whatever unit of work allocated); the collector's own
        thresholds are raised to :data:`BACKSTOP`, for a loop too busy ever to wait."""
        gc.collect()
        gc.freeze()
        self._thresholds = gc.get_threshold()
        gc.callbacks.append(self._collected)
        if loop is not None and scheduling.runs_idle_work(loop):
            gc.set_threshold(*BACKSTOP)
            scheduling.set_idle_work(self._collect_young)
        else:
            gc.set_threshold(*THRESHOLDS)

    def stop(self):
        if self._thresholds is None:
            return
        scheduling.set_idle_work(None)
        gc.callbacks.remove(self._collected)
        gc.unfreeze()
        gc.set_threshold(*self._thresholds)
        self._thresholds = None

    def _collect_young(self):
        """Between turns: the collection the collector would have made by :data:`THRESHOLDS`,
        if one is due."""
        young, middle, _ = gc.get_count()
        if young >= THRESHOLDS[0]:
            gc.collect(1 if middle + 1 >= THRESHOLDS[1] else 0)
            self.idle_collections += 1

    @staticmethod
    def _collected(phase, info):
        # The middle generation's survivors have just joined the oldest one: freeze them
        # there, before any full collection would walk them.
        if phase == "stop" and info["generation"] >= 1:
            gc.freeze()

    def sweep(self):
        """A full collection of everything, frozen or not (the whole heap is frozen again
        after it); returns how many unreachable objects it found and the seconds it took."""
        started = time.perf_counter()
        gc.unfreeze()
        found = gc.collect()
        gc.freeze()
        return found, time.perf_counter() - started
