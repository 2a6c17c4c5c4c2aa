"""The event loop's thread under the real-time scheduling policy (``host.realtime_priority``).

Under the normal policy a process that wakes up may wait for a core until the scheduler's
time slice of whatever runs there ends: on a busy machine a loop that does nothing but sleep
1 ms at a time already wakes up late by several milliseconds. A thread under SCHED_FIFO runs
as soon as it is ready, ahead of every normal process, and keeps the core until it sleeps
again, which an event loop does between events. Only the loop's thread gets the policy:
threads and processes it starts later (the store's writer, executors, the status display)
start under the normal policy again (SCHED_RESET_ON_FORK), and the kernel's real-time
throttling (``kernel.sched_rt_runtime_us``, by default 95% of each second) leaves the rest of
the machine a share of the CPU whatever the host does.
"""

import os


class RealtimePolicy:
    """Puts the calling thread under SCHED_FIFO at ``priority`` (0: leave it as it is) and
    back under its former policy."""

    def __init__(self, priority):
        self.priority = priority
        self._former = None

    def apply(self):
        """Switch the policy; returns None when done (or when nothing was asked), otherwise
        why the system refused, for the operator."""
        if not self.priority:
            return None
        if not hasattr(os, "SCHED_FIFO"):
            return (f"host.realtime_priority = {self.priority}: this system has no real-time "
                    f"scheduling; running under the normal policy")
        former = (os.sched_getscheduler(0), os.sched_getparam(0))
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO | os.SCHED_RESET_ON_FORK,
                                  os.sched_param(self.priority))
        except OSError as error:
            return (f"host.realtime_priority = {self.priority}: the system refused SCHED_FIFO "
                    f"({error.strerror}); running under the normal policy (needs root, "
                    f"CAP_SYS_NICE or an rtprio limit of at least {self.priority}: ulimit -r)")
        self._former = former
        return None

    def restore(self):
        if self._former is None:
            return
        policy, param = self._former
        self._former = None
        os.sched_setscheduler(0, policy, param)
