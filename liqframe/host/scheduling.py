"""How promptly the host's event loop runs: its threads under the real-time scheduling policy
(``host.realtime_priority``), timers kept to the microsecond (:func:`new_event_loop`), and
turns of the loop kept short (:func:`give_way`).

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

A timer due while the loop runs its callbacks waits for the end of that turn, and the task it
wakes runs in the turn after: how late it is depends on how long turns are, not on how long
any one callback is. Bursts make long turns: each tick sends a handful of order requests,
each push writes to a hundred clients, and a venue's messages arrive together, each piece
taking 0.05 to 0.3 ms. The host's cooperative work therefore goes in units, each begun by
:func:`give_way`, which goes on at once while the current turn has run less than
:data:`TURN_BUDGET_S`, and otherwise waits for a later turn (in the order the waiting began,
so every waiter gets through; a waiter that finds the turn spent when its own comes goes
through in the turn after, whatever that turn has run). The same idea as tokio's cooperative
budget, kept in time rather than in operations.

A unit gives way *before* it starts, not only after it ends: a task woken by the network (a
venue's message, the reply to an order) would otherwise run its first unit in whatever turn
woke it, however much that turn had run. So every task that starts work in a spent turn waits,
and a turn runs at most the budget, plus the one unit that began within it, plus the
callbacks nobody can split (reading a socket, tens of microseconds).

A turn that overran its budget leaves the next turn none (under :func:`new_event_loop`): what
the long turn woke (a task whose timer came due meanwhile, an order's reply) then goes ahead of
any unit that would start anew, which waits its turn instead. Without that, the turn after a
long one began with a fresh budget and the first tasks woken in it ran a unit each, so a timer
that came due during a long unit waited for that unit and then for one more: in the web
benchmark's worst wake-ups, two units of 0.3 to 0.5 ms back to back. With it, the host's part
of those wake-ups fell from 0.69-0.75 ms to 0.60-0.62 ms (median of ten 5-second windows, in
paired runs).
"""

import asyncio
import collections
import os
import select
import selectors
import threading
import time


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
    """epoll with timeouts kept to the microsecond, and a place for idle work
    (:func:`set_idle_work`).

    epoll_wait counts its timeout in whole milliseconds and the standard selector rounds it
    up, so a timer due 0.2 ms after the loop last woke fires up to 0.8 ms late. This selector
    waits on the epoll descriptor itself with select(), whose timeout is in microseconds, then
    takes the ready events without waiting: one more system call per wait, and timers on time.
    """

    def select(self, timeout=None):
        overran = time.perf_counter() - _turn.started > TURN_BUDGET_S  # the turn ending here
        idle = _turn.idle
        if idle is not None and (timeout is None or timeout >= IDLE_S):
            began = time.perf_counter()
            idle()
            if timeout is not None:
                timeout = max(0.0, timeout - (time.perf_counter() - began))
        if timeout is not None and timeout > 0 and self._selector.fileno() < SELECT_LIMIT:
            select.select([self._selector.fileno()], [], [], timeout)
            timeout = 0
        events = super().select(timeout)
        _turn.started = time.perf_counter()  # what follows is the next turn's work
        _turn.spent = overran  # it begins with no budget when this one overran it
        return events


#: select() handles descriptors below FD_SETSIZE only; past it the ms timeout is kept.
SELECT_LIMIT = 1024

#: Seconds the loop must have before its next timer for idle work to run (see
#: :func:`set_idle_work`).
IDLE_S = 0.0003


def set_idle_work(work):
    """Run ``work()`` (None: nothing) whenever this thread's loop, a
    :class:`PreciseEpollSelector`'s, is about to wait with nothing ready and no timer due
    within :data:`IDLE_S`: work that would otherwise land inside some callback, on top of it,
    runs between turns instead. It should take a few tenths of a millisecond at most."""
    _turn.idle = work


def runs_idle_work(loop):
    """Whether ``loop`` runs what :func:`set_idle_work` gives it."""
    return isinstance(getattr(loop, "_selector", None), PreciseEpollSelector)


def new_event_loop():
    """The event loop ``liqframe run`` runs the host on: asyncio's, with
    :class:`PreciseEpollSelector` where epoll exists."""
    if hasattr(selectors, "EpollSelector"):
        return asyncio.SelectorEventLoop(PreciseEpollSelector())
    return asyncio.new_event_loop()


#: Seconds of work a turn of the event loop may run before :func:`give_way` waits for the
#: next turn. A timer due in a turn waits for the rest of it (this plus the unit that began
#: within it, up to half a millisecond), and for the next turn, which begins spent when that
#: one overran: under a millisecond, with room for the callbacks nobody can split (reading a
#: socket). With every unit giving way before it starts, 0.1 ms kept the host's part of the
#: web benchmark's worst delays 0.15 ms lower than 0.2 ms did, at the same REST throughput.
TURN_BUDGET_S = 0.0001


class _Turn(threading.local):
    """When the current turn of this thread's loop began, and who waits for a later one."""

    def __init__(self):
        #: perf_counter() when the turn began: set by :class:`PreciseEpollSelector` after each
        #: poll; under another loop, when the last waiter went on (a slice instead of a turn).
        self.started = 0.0
        #: Set by :class:`PreciseEpollSelector` when the turn began with no budget.
        self.spent = False
        self.waiting = collections.deque()
        self.loop = None  # whose waiters those are
        self.idle = None  # see set_idle_work


_turn = _Turn()


async def give_way():
    """Return at once while the current turn has run less than :data:`TURN_BUDGET_S` (and did
    not begin spent) and nobody waits; otherwise in a later turn, after those who began waiting
    before. Cooperative work calls it before each unit of a few hundred microseconds at most."""
    turn = _turn
    if not (turn.waiting or turn.spent) and time.perf_counter() - turn.started <= TURN_BUDGET_S:
        return
    loop = asyncio.get_running_loop()
    if turn.loop is not loop:  # waiters left by a loop that has closed would never go
        turn.loop = loop
        turn.waiting.clear()
    waiter = loop.create_future()
    turn.waiting.append(waiter)
    if len(turn.waiting) == 1:
        _let_through(loop, turn)
    paused = time.perf_counter()
    try:
        await waiter
    except BaseException:
        if waiter in turn.waiting:  # cancelled while waiting
            turn.waiting.remove(waiter)
        raise
    if turn.started < paused:  # no poll meanwhile: not our selector, count a slice
        turn.started = time.perf_counter()


def _let_through(loop, turn):
    """Wake the first waiter after the next poll, behind what that poll brings: a timer, not
    call_soon, whose callbacks run before the turn's fresh events. The waiter runs in the turn
    after, one unit a turn while others wait."""
    loop.call_at(loop.time(), _next, loop, turn)


def _next(loop, turn):
    while turn.waiting:
        waiter = turn.waiting.popleft()
        if not waiter.done():
            waiter.set_result(None)
            break
    if turn.waiting:
        _let_through(loop, turn)
