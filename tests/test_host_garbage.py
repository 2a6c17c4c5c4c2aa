"""Garbage collection during a run (:mod:`liqframe.host.garbage`): the heap frozen at the
start, what outlives the middle generation frozen too (so no full collection walks it), frozen
objects still freed by reference counting, frozen cycles freed by a sweep, the host sweeping
every ``host.gc_sweep_s``, the young collections made between turns on the loop ``liqframe
run`` uses, and the collector's settings put back afterwards."""

import asyncio
import gc
import weakref

import pytest

from liqframe.host import scheduling
from liqframe.host.garbage import BACKSTOP, THRESHOLDS, Collector
from liqframe.testing.world import SimWorld


class Node:
    """A container the collector tracks, that a weak reference can watch."""

    def __init__(self):
        self.other = None


def generation_of(obj):
    """0, 1 or 2 for a generation the collector walks; None for a frozen object."""
    for generation in range(3):
        if any(o is obj for o in gc.get_objects(generation)):
            return generation
    return None


@pytest.fixture
def collector():
    collector = Collector()
    thresholds = gc.get_threshold()
    collector.start()
    yield collector
    collector.stop()
    assert gc.get_threshold() == thresholds


def test_start_freezes_what_exists_and_stop_puts_it_back():
    older = Node()
    thresholds = gc.get_threshold()
    collector = Collector()
    collector.start()
    try:
        assert gc.get_threshold() == THRESHOLDS
        assert generation_of(older) is None
        assert gc.get_freeze_count() > 0
    finally:
        collector.stop()
    assert gc.get_threshold() == thresholds
    assert gc.get_freeze_count() == 0
    assert generation_of(older) == 2
    collector.stop()  # a second stop changes nothing
    assert gc.get_threshold() == thresholds


def test_what_outlives_the_middle_generation_is_frozen(collector):
    node = Node()
    gc.collect(0)
    assert generation_of(node) == 1  # a young collection only promotes it
    gc.collect(1)
    assert generation_of(node) is None
    gc.collect(2)  # a full collection no longer walks it
    assert generation_of(node) is None


def test_a_frozen_object_is_still_freed_by_reference_counting(collector):
    node = Node()
    watch = weakref.ref(node)
    gc.collect(1)
    assert generation_of(node) is None
    del node
    assert watch() is None


def test_a_frozen_cycle_waits_for_the_sweep(collector):
    first, second = Node(), Node()
    first.other, second.other = second, first
    watch = weakref.ref(first)
    gc.collect(1)
    del first, second
    gc.collect()
    assert watch() is not None  # garbage, but frozen: no ordinary collection frees it
    found, took = collector.sweep()
    assert watch() is None
    assert found >= 2 and took > 0
    survivor = Node()
    gc.collect(1)
    collector.sweep()
    assert generation_of(survivor) is None  # the heap is frozen again after a sweep


@pytest.fixture
async def world():
    w = SimWorld()
    yield w
    await w.stop()


async def test_the_host_sweeps_every_gc_sweep_s_and_says_what_it_freed(world, tmp_path):
    await world.add("a")
    host = world.host(world.config("", "", host="gc_sweep_s = 1\n"), tmp_path / "h.db", [])
    sweeps = []
    host.hub.hooks.append(lambda kind, data: sweeps.append(data["message"])
                          if kind == "gc" else None)
    thresholds = gc.get_threshold()
    assert await host.run(3.5) == "completed"
    assert 2 <= len(sweeps) <= 4, sweeps
    assert all(s.startswith("full garbage collection: ") and "unreachable objects freed in"
               in s for s in sweeps)
    assert gc.get_threshold() == thresholds and gc.get_freeze_count() == 0


async def test_no_sweep_when_gc_sweep_s_is_0(world, tmp_path):
    await world.add("a")
    host = world.host(world.config("", "", host="gc_sweep_s = 0\n"), tmp_path / "h.db", [])
    sweeps = []
    host.hub.hooks.append(lambda kind, data: sweeps.append(data) if kind == "gc" else None)
    assert await host.run(2.5) == "completed"
    assert sweeps == []


def test_on_the_hosts_loop_young_collections_run_between_turns():
    async def main():
        collector = Collector()
        thresholds = gc.get_threshold()
        collector.start(asyncio.get_running_loop())
        try:
            seen = [gc.get_threshold(), scheduling._turn.idle is not None]
            keep = [Node() for _ in range(THRESHOLDS[0] + 50)]  # containers: a collection due
            assert gc.get_count()[0] >= THRESHOLDS[0]  # the collector itself waits (backstop)
            await asyncio.sleep(0.01)  # the loop waits: the collection is made then
            seen += [collector.idle_collections, gc.get_count()[0] < THRESHOLDS[0], len(keep)]
        finally:
            collector.stop()
        seen += [gc.get_threshold() == thresholds, scheduling._turn.idle is None]
        return seen

    with asyncio.Runner(loop_factory=scheduling.new_event_loop) as runner:
        threshold, idle_set, collections, collected, _, restored, unset = runner.run(main())
    assert threshold == BACKSTOP and idle_set
    assert collections >= 1 and collected
    assert restored and unset


def test_on_another_loop_the_collector_collects_by_the_thresholds_itself():
    async def main():
        collector = Collector()
        collector.start(asyncio.get_running_loop())
        try:
            return gc.get_threshold(), scheduling._turn.idle
        finally:
            collector.stop()

    assert asyncio.run(main()) == (THRESHOLDS, None)
