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

from liqframe.host.scheduling import (
    TURN_BUDGET_S,
    PreciseEpollSelector,
    _turn,
    give_way,
    new_event_loop,
)
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


# -- give_way: turns of the loop kept short ------------------------------------------------

def busy(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def on_precise_loop(coroutine_function):
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        return runner.run(coroutine_function())


def test_give_way_goes_on_at_once_while_the_turn_has_budget_left():
    async def main():
        loop = asyncio.get_running_loop()
        seen = []
        await asyncio.sleep(0)  # a fresh turn
        loop.call_soon(seen.append, "other")
        await give_way()
        seen.append("after give_way")
        await asyncio.sleep(0)
        return seen

    assert on_precise_loop(main) == ["after give_way", "other"]


# in the turn that overran, or at the start of the next (which that turn left no budget)
@pytest.mark.parametrize("next_turn", [False, True])
def test_work_that_gives_way_resumes_behind_the_sleepers_woken_meanwhile(next_turn):
    async def main():
        seen = []

        async def sleeper():
            await asyncio.sleep(0.0001)
            seen.append("sleeper")

        task = asyncio.create_task(sleeper())
        await asyncio.sleep(0)  # the sleeper sleeps
        busy(TURN_BUDGET_S + 0.0005)  # the turn is spent, and the sleeper's timer came due
        if next_turn:
            await asyncio.sleep(0)  # the next turn, where the sleeper's timer fires
        await give_way()
        seen.append("work")
        await task
        return seen

    assert on_precise_loop(main) == ["sleeper", "work"]


def test_a_turn_within_its_budget_leaves_the_next_one_a_whole_budget():
    async def main():
        seen = []
        await asyncio.sleep(0)
        await asyncio.sleep(0)  # a turn that ran next to nothing
        asyncio.get_running_loop().call_soon(seen.append, "other")
        await give_way()
        seen.append("work")
        await asyncio.sleep(0)
        return seen

    assert on_precise_loop(main) == ["work", "other"]


def test_waiters_go_through_in_the_order_they_began_waiting_one_a_turn():
    async def main():
        seen = []

        async def worker(name):
            for unit in range(3):
                busy(TURN_BUDGET_S * 1.5)  # every unit spends a turn's budget
                await give_way()
                seen.append((name, unit))

        await asyncio.sleep(0)
        await asyncio.gather(*(worker(n) for n in "abc"))
        return seen

    assert on_precise_loop(main) == [(n, u) for u in range(3) for n in "abc"]


def test_a_waiter_cancelled_leaves_the_queue_and_the_others_go_on():
    async def main():
        seen = []

        async def worker(name):
            busy(TURN_BUDGET_S * 1.5)
            await give_way()
            seen.append(name)

        await asyncio.sleep(0)
        tasks = [asyncio.create_task(worker(n)) for n in "abc"]
        await asyncio.sleep(0)  # all three ran their unit and wait
        tasks[1].cancel()
        await asyncio.wait(tasks)
        return seen, tasks[1].cancelled(), _turn.waiting

    seen, cancelled, waiting = on_precise_loop(main)
    assert seen == ["a", "c"] and cancelled and not waiting


def test_waiters_a_closed_loop_left_behind_do_not_hold_up_the_next_loop():
    async def abandon():
        busy(TURN_BUDGET_S * 1.5)
        await give_way()

    loop = new_event_loop()
    task = loop.create_task(abandon())
    loop.call_soon(loop.stop)
    loop.run_forever()  # the task waits its turn, and the loop goes away under it
    loop.close()
    assert _turn.waiting and not task.done()
    task._log_destroy_pending = False  # abandoned on purpose

    async def main():
        busy(TURN_BUDGET_S * 1.5)
        async with asyncio.timeout(2):
            await give_way()
        return len(_turn.waiting)

    assert on_precise_loop(main) == 0


async def test_give_way_slices_long_work_under_any_event_loop():
    # asyncio's own loop (no turn clock): the budget counts from the last time work went on
    ticks = []
    ticker = asyncio.get_running_loop().call_later

    def tick():
        ticks.append(time.perf_counter())
        if len(ticks) < 1000:
            ticker(0, tick)

    ticker(0, tick)
    start = time.perf_counter()
    for _ in range(400):
        busy(0.00002)
        await give_way()
    assert time.perf_counter() - start >= 0.008
    assert len(ticks) >= 10  # other callbacks ran in between


def test_a_venue_sessions_burst_of_messages_is_handled_a_unit_a_turn():
    # a venue sends twenty messages at once over a real loopback WebSocket: the session hands
    # them over one unit at a time, and a timer that comes due meanwhile is not kept waiting
    # for the whole burst
    from aiohttp import web

    from liqframe.connectors.session import WebSocketSession

    async def main():
        seen = []

        async def serve(request):
            ws = web.WebSocketResponse()
            await ws.prepare(request)
            for index in range(20):
                await ws.send_str(str(index))
            await ws.receive()  # until the client leaves
            return ws

        app = web.Application()
        app.router.add_get("/ws", serve)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        burst = asyncio.Event()

        def on_message(data, received_ns):
            if data == "0":
                asyncio.get_running_loop().call_later(0.0002, seen.append, "timer")
            busy(TURN_BUDGET_S * 1.5)  # every message spends a turn's budget
            seen.append(int(data))
            if data == "19":
                burst.set()

        async def on_open(session):
            await asyncio.sleep(0.05)  # the whole burst is in the socket before it is read

        session = WebSocketSession(f"http://127.0.0.1:{port}/ws", on_open=on_open,
                                   on_message=on_message, on_close=lambda reason: None)
        try:
            await session.start()
            async with asyncio.timeout(5):
                await burst.wait()
        finally:
            await session.close()
            await runner.cleanup()
        return seen

    seen = on_precise_loop(main)
    assert [s for s in seen if s != "timer"] == list(range(20))
    assert "timer" in seen and seen.index("timer") < seen.index(10)
