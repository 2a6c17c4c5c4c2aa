"""How promptly the host's event loop runs: its threads under the real-time scheduling policy
(``host.realtime_priority``), and timers kept to the microsecond (:func:`new_event_loop`).

Under the normal policy a process that wakes up may wait for a core until the scheduler's
time slice of whatever runs there ends: on a busy machine a loop that does nothing but sleep
1 ms at a time already wakes up late by several milliseconds. A thread under SCHED_FIFO runs
as soon as it is ready, ahead of every normal process, and keeps the core until it sleeps
again, which an event loop does between events. Every thread of the host takes the policy,
not the loop's alone: the threads share one interpreter lock, and a thread holding it while
the system lets a normal process run in its place would keep the loop waiting just the same
(a priority inversion). Threads started during the run inherit the policy, and so would
processes the host starts. The kernel's real-time throttling (``kernel.sched_rt_runtime_us``,
by default 95% of each second) leaves the rest of the machine a share of the CPU whatever the
host does.
"""

import asyncio
import os
import select
import selectors


class RealtimePolicy:
    """Puts every thread of this process under SCHED_FIFO at ``priority`` (0: leaves them as
    they are), and back under their former policies."""

    def __init__(self, priority):
        self.priority = priority
        self._former = None  # thread id -> (policy, parameters), once applied

    def apply(self):
        """Switch the policy; returns None when done (or when nothing was asked), otherwise
        why the system refused, for the operator, with nothing changed."""
        if not self.priority:
            return None
        if not hasattr(os, "SCHED_FIFO"):
            return (f"host.realtime_priority = {self.priority}: this system has no real-time "
                    f"scheduling; running under the normal policy")
        former = {}
        try:
            for thread in _threads():
                former[thread] = (os.sched_getscheduler(thread), os.sched_getparam(thread))
                os.sched_setscheduler(thread, os.SCHED_FIFO, os.sched_param(self.priority))
        except OSError as error:
            _set_policies(former)
            return (f"host.realtime_priority = {self.priority}: the system refused SCHED_FIFO "
                    f"({error.strerror}); running under the normal policy (needs root, "
                    f"CAP_SYS_NICE or an rtprio limit of at least {self.priority}: ulimit -r)")
        self._former = former
        return None

    def restore(self):
        """Every thread back under its former policy (one started meanwhile: the normal
        policy)."""
        if self._former is None:
            return
        normal = (os.SCHED_OTHER, os.sched_param(0))
        _set_policies({thread: self._former.get(thread, normal) for thread in _threads()})
        self._former = None


def _threads():
    """Ids of this process's threads (Linux lists them in /proc; elsewhere, this one)."""
    try:
        return [int(name) for name in os.listdir("/proc/self/task")]
    except OSError:
        return [0]


def _set_policies(policies):
    for thread, (policy, parameters) in policies.items():
        try:
            os.sched_setscheduler(thread, policy, parameters)
        except ProcessLookupError:  # the thread has ended
            pass


class PreciseEpollSelector(selectors.EpollSelector):
    """epoll with timeouts kept to the microsecond.

    epoll_wait counts its timeout in whole milliseconds and the standard selector rounds it
    up, so a timer due 0.2 ms after the loop last woke fires up to 0.8 ms late. This selector
    waits on the epoll descriptor itself with select(), whose timeout is in microseconds, then
    takes the ready events without waiting: one more system call per wait, and timers on time.
    """

    def select(self, timeout=None):
        if timeout is not None and timeout > 0 and self._selector.fileno() < SELECT_LIMIT:
            select.select([self._selector.fileno()], [], [], timeout)
            timeout = 0
        return super().select(timeout)


#: select() handles descriptors below FD_SETSIZE only; past it the ms timeout is kept.
SELECT_LIMIT = 1024


def new_event_loop():
    """The event loop ``liqframe run`` runs the host on: asyncio's, with
    :class:`PreciseEpollSelector` where epoll exists."""
    if hasattr(selectors, "EpollSelector"):
        return asyncio.SelectorEventLoop(PreciseEpollSelector())
    return asyncio.new_event_loop()
