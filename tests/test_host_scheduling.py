"""``host.realtime_priority``: the event loop's thread under SCHED_FIFO while the host runs,
every thread it starts under the normal policy, and the former policy back afterwards; a
system that refuses is reported and the host runs on."""

import asyncio
import os
import subprocess
import sys
import threading

import pytest

from liqframe.testing.world import SimWorld

# the policy without the SCHED_RESET_ON_FORK flag the kernel reports with it
POLICY_MASK = ~os.SCHED_RESET_ON_FORK


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
    return os.sched_getscheduler(0) & POLICY_MASK


async def test_the_loop_runs_under_sched_fifo_and_its_threads_do_not(world, tmp_path):
    await world.add("a")
    lines, seen, threads = [], [], []
    host = world.host(world.config("", "", host="realtime_priority = 7\n"), tmp_path / "h.db",
                      lines)
    before = policy()

    async def watch():
        while host.started is None:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)
        seen.append((policy(), os.sched_getparam(0).sched_priority))
        thread = threading.Thread(target=lambda: threads.append(policy()))
        thread.start()
        thread.join()

    watcher = asyncio.create_task(watch())
    assert await host.run(1.5) == "completed"
    await watcher
    assert before == os.SCHED_OTHER and policy() == os.SCHED_OTHER
    if fifo_allowed():
        assert seen == [(os.SCHED_FIFO, 7)]
        assert threads == [os.SCHED_OTHER]
        assert not [line for line in lines if "realtime_priority" in line]
    else:
        assert seen == [(os.SCHED_OTHER, 0)]
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
