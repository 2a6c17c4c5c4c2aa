"""``host.realtime_priority``: every thread of the host under SCHED_FIFO while it runs (those
it starts too), the former policies back afterwards, and a system that refuses reported with
the host running on; the event loop ``liqframe run`` uses keeps timers to the microsecond and
loses no event."""

import asyncio
import os
import selectors
import socket
import subprocess
import sys
import threading
import time

import pytest

from liqframe.host.scheduling import PreciseEpollSelector, new_event_loop
from liqframe.testing.world import SimWorld


def fifo_allowed():
    """Whether this machine lets a process take SCHED_FIFO, asked of a child process (so
    this one's policy is untouched) with the system call itself."""
    code = "import os; os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(5))"
    return subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0


@pytest.fixture
async def world():
    w = SimWorld()
    yield w
    await w.stop()


def policy():
    return os.sched_getscheduler(0)


async def test_every_thread_runs_under_sched_fifo_then_goes_back(world, tmp_path):
    await world.add("a")
    lines, seen, threads = [], [], []
    # a thread that exists before the run, as the store's writer does
    waiting = threading.Event()
    older = threading.Thread(target=waiting.wait)
    older.start()
    host = world.host(world.config("", "", host="realtime_priority = 7\n"), tmp_path / "h.db",
                      lines)
    before = policy()

    async def watch():
        while host.started is None:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)
        seen.append((policy(), os.sched_getparam(0).sched_priority,
                     os.sched_getscheduler(older.native_id)))
        thread = threading.Thread(target=lambda: threads.append(policy()))
        thread.start()
        thread.join()

    watcher = asyncio.create_task(watch())
    try:
        assert await host.run(1.5) == "completed"
        await watcher
        after = os.sched_getscheduler(older.native_id)
    finally:
        waiting.set()
    assert before == os.SCHED_OTHER and policy() == os.SCHED_OTHER and after == os.SCHED_OTHER
    if fifo_allowed():
        assert seen == [(os.SCHED_FIFO, 7, os.SCHED_FIFO)]
        assert threads == [os.SCHED_FIFO]
        assert not [line for line in lines if "realtime_priority" in line]
    else:
        assert seen == [(os.SCHED_OTHER, 0, os.SCHED_OTHER)]
        assert [line for line in lines if "host.realtime_priority = 7: the system refused"
                in line]


def test_a_refusal_is_explained_and_changes_nothing():
    # an unprivileged process (nobody when this runs as root) with no rtprio allowance
    code = """
import os, resource
from liqframe.host.scheduling import RealtimePolicy
resource.setrlimit(resource.RLIMIT_RTPRIO, (0, 0))
if os.geteuid() == 0:
    os.setgid(65534)
    os.setuid(65534)
policy = RealtimePolicy(12)
print(policy.apply())
print(os.sched_getscheduler(0))
policy.restore()
"""
    result = subprocess.run([sys.executable, "-P", "-c", code], capture_output=True, text=True,
                            check=True)
    message, after = result.stdout.splitlines()
    assert message.startswith("host.realtime_priority = 12: the system refused SCHED_FIFO (")
    assert "running under the normal policy" in message and "ulimit -r" in message
    assert int(after) == os.SCHED_OTHER


def test_the_precise_selector_returns_what_is_ready_and_waits_its_timeout():
    selector = PreciseEpollSelector()
    left, right = socket.socketpair()
    try:
        key = selector.register(left, selectors.EVENT_READ, "left")
        start = time.perf_counter()
        assert selector.select(0.0003) == []
        assert time.perf_counter() - start >= 0.0003  # never returns before its timeout
        right.send(b"x")
        assert [(k.data, events) for k, events in selector.select(5)] == \
            [("left", selectors.EVENT_READ)]
        assert [(k.data, events) for k, events in selector.select(None)] == \
            [("left", selectors.EVENT_READ)]
        assert key.fileobj is left
    finally:
        selector.close()
        left.close()
        right.close()


def test_the_loop_of_liqframe_run_serves_timers_and_sockets():
    async def main():
        loop = asyncio.get_running_loop()
        assert isinstance(loop._selector, PreciseEpollSelector)
        order = []
        loop.call_later(0.0004, order.append, "0.4 ms")
        loop.call_later(0.0002, order.append, "0.2 ms")
        server = await asyncio.start_server(_echo, "127.0.0.1", 0)
        reader, writer = await asyncio.open_connection(*server.sockets[0].getsockname())
        writer.write(b"ping\n")
        assert await reader.readline() == b"ping\n"
        await asyncio.sleep(0.001)
        writer.close()
        server.close()
        await server.wait_closed()
        return order

    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        assert runner.run(main()) == ["0.2 ms", "0.4 ms"]


async def _echo(reader, writer):
    writer.write(await reader.readline())
    await writer.drain()
    writer.close()
