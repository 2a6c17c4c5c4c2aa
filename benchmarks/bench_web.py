"""Web API and WebSocket pushes of a running host (area "web").

Three processes, so that each figure is the host's alone:

* the simulated exchanges (``python -m liqframe_simvenue``: the four venues of the embedded
  default configuration, with their background traders);
* the host (the embedded default configuration, its venues reached at those URLs, strategies
  quoting) with a probe task that sleeps 1 ms at a time and records how late each wake-up is:
  the host event loop's delay;
* this process, the load:

  - REST: ``GET /api/book?depth=20`` (consolidated top 20 with per-venue sizes) over a pool of
    keep-alive connections, one request in flight on each, for a few seconds; requests per
    second (target >= 5,000). The client is a minimal HTTP/1.1 reader on asyncio protocols
    (it checks the status and reads every body by its Content-Length) so that on two cores the
    load generator leaves the host as much CPU as it can;
  - WebSocket: 100 clients subscribed to the dashboard's channels at push_hz = 10; frames per
    second each client received, and the loop's maximum and 99th percentile delay meanwhile,
    once they are connected (target <= 1 ms), next to the same probe with no clients (the
    host's own baseline) and while the hundred connect at once (a burst of handshakes).

For each wake-up, the part of its delay the host caused is bounded by the CPU time the
host's process (every thread, so a thread holding the interpreter lock counts) used from the
moment the timer came due until the probe ran (target <= 1 ms in every round); the JSON output
lists the callbacks that ran meanwhile in the worst case. That bound is loose on a virtual
machine: time the hypervisor takes the core away from a running thread is charged to the
thread as CPU time (a thread doing nothing but read the clocks sees gaps of 1 to 30 ms in
which its CPU time grew as much as the wall clock). So the host's own work is also given
alone: for each wake-up, the CPU time of the callbacks the loop ran from the moment the timer
came due until the probe ran, the one running at that moment counted whole (target <= 1 ms
in every round).

Every delay figure of the host comes with the same probe's in a bare event loop running
nothing else, measured at the same moments (the machine's floor: on a shared machine its
scheduler alone delays a loop by milliseconds), and with the CPU time of the host's longest
callback (target <= 1 ms): wall time a callback took without using the CPU is the process
waiting for a core, not work of the host. The JSON output names the longest callbacks.

All of it is measured twice: with the host under the normal scheduling policy, then with
``host.realtime_priority`` set, so that its event loop's thread runs under SCHED_FIFO and no
other process keeps it waiting for a core (the bare loop beside it stays under the normal
policy). The benchmark fails when the host's loop did not run under the policy asked for.

Each figure is the median of several rounds. No peer library serves this API, so there are no
ratios; the baseline is the comparison.
"""

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

#: The probe both the host and the control process run: a task sleeping 1 ms at a time that
#: records how late each wake-up is, and a meter of every callback the loop runs (wall time and
#: the thread's CPU time, so that time the process spent descheduled is told apart from work)
#: and of every turn of the loop (the CPU time of all the callbacks run between two polls of
#: the selector: a timer due meanwhile waits for all of them).
PROBE = r"""
import asyncio, asyncio.events, gc, json, os, selectors, sys, time
from liqframe.host.scheduling import new_event_loop  # the loop `liqframe run` uses

POLICIES = {os.SCHED_OTHER: "SCHED_OTHER", os.SCHED_FIFO: "SCHED_FIFO"}
RESET = os.SCHED_RESET_ON_FORK  # a flag the kernel reports with the policy

class Meter:
    def __init__(self):
        self.reset()

    def reset(self):
        self.fresh = True  # the callback running now (the probe's own command) is not counted
        self.wall = self.cpu = 0.0
        self.name = ""
        self.by_name = {}  # callback name -> its longest CPU time
        self.gc = 0.0  # the longest garbage collection (inside whichever callback it hit)
        self.gc_by_generation = [0.0, 0.0, 0.0]
        self.gc_start = 0.0
        self.turn = 0.0  # CPU time of the callbacks of the current turn of the loop
        self.turns = []  # CPU time of each turn with any callback
        self.caused = []  # per wake-up of the probe: the part of its delay the host caused
        self.work = []  # per wake-up: the CPU time of the callbacks run meanwhile
        self.due = float("inf")  # when the probe's timer comes due (perf_counter)
        self.due_cpu = None  # the process's CPU time when it came due (see _timed)
        self.last = (0.0, 0.0)  # the last callback's start (process CPU time) and end (wall)
        self.window = []  # (name, CPU ms) of the callbacks run since the timer came due
        self.worst = []  # the window of the wake-up with the longest delay the host caused

meter = Meter()
_run = asyncio.events.Handle._run

def _name(handle):
    callback = handle._callback
    owner = getattr(callback, "__self__", None)
    if owner is not None and hasattr(owner, "get_coro"):
        coro = owner.get_coro()
        return getattr(coro, "__qualname__", repr(coro))
    return getattr(callback, "__qualname__", repr(callback))

def _timed(handle):
    wall, cpu, process = time.perf_counter(), time.thread_time(), time.process_time()
    if meter.due_cpu is None and wall >= meter.due:
        # the first callback since the probe's timer came due: count the process's CPU from
        # here, or from the start of the callback that was running at that moment
        started, ended = meter.last
        meter.due_cpu = started if ended > meter.due else process
    _run(handle)
    end = time.perf_counter()
    meter.last = (process, end)
    cpu, wall = time.thread_time() - cpu, end - wall
    if meter.due_cpu is not None or end > meter.due:  # since the timer came due, or across
        meter.window.append((_name(handle), round(cpu * 1e3, 3)))
    if meter.fresh:
        meter.fresh = False
        return
    meter.turn += cpu
    if cpu > 0.0002:
        name = _name(handle)
        meter.by_name[name] = max(cpu, meter.by_name.get(name, 0.0))
        if cpu > meter.cpu:
            meter.cpu, meter.name = cpu, name
    meter.wall = max(meter.wall, wall)

asyncio.events.Handle._run = _timed
_select = selectors.EpollSelector.select

def _polled(self, timeout=None):
    if meter.turn:
        meter.turns.append(meter.turn)
        meter.turn = 0.0
    return _select(self, timeout)

selectors.EpollSelector.select = _polled

def _collection(phase, info):
    if phase == "start":
        meter.gc_start = time.thread_time()
    else:
        took = time.thread_time() - meter.gc_start
        meter.gc = max(meter.gc, took)
        generation = info["generation"]
        meter.gc_by_generation[generation] = max(meter.gc_by_generation[generation], took)

gc.callbacks.append(_collection)

async def probe(stats):
    loop = asyncio.get_running_loop()
    while True:
        before = loop.time()
        meter.due, meter.due_cpu, meter.window = time.perf_counter() + 0.001, None, []
        await asyncio.sleep(0.001)
        late = loop.time() - before - 0.001
        stats.append(late)
        if meter.due_cpu is not None:
            caused = min(late, time.process_time() - meter.due_cpu)
            if caused > max(meter.caused, default=0.0):
                meter.worst = meter.window
            meter.caused.append(caused)
            meter.work.append(sum(cpu for _, cpu in meter.window) / 1e3)

async def commands(stats):
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := (await reader.readline()).decode().strip():
        if line == "reset":
            stats.clear()
            meter.reset()
            print(json.dumps({"ok": True}), flush=True)
        elif line == "report":
            data, caused = sorted(stats), sorted(meter.caused) or [0.0]
            work = sorted(meter.work) or [0.0]
            print(json.dumps({"n": len(data), "max_ms": data[-1] * 1e3,
                              "p99_ms": data[int(len(data) * 0.99)] * 1e3,
                              "p50_ms": data[len(data) // 2] * 1e3,
                              "caused_max_ms": caused[-1] * 1e3,
                              "caused_p99_ms": caused[int(len(caused) * 0.99)] * 1e3,
                              "caused_worst": meter.worst,
                              "work_max_ms": work[-1] * 1e3,
                              "work_p99_ms": work[int(len(work) * 0.99)] * 1e3,
                              "callback_wall_ms": meter.wall * 1e3,
                              "callback_cpu_ms": meter.cpu * 1e3,
                              "callback": meter.name, "gc_ms": meter.gc * 1e3,
                              "gc_by_generation_ms": [round(t * 1e3, 3) for t in
                                                      meter.gc_by_generation],
                              "turn_max_ms": max(meter.turns, default=0.0) * 1e3,
                              "turns_over_1ms": sum(t > 0.001 for t in meter.turns),
                              "turns": len(meter.turns),
                              "policy": POLICIES.get(os.sched_getscheduler(0) & ~RESET,
                                                     "other"),
                              "longest": sorted(((round(c * 1e3, 3), n) for n, c in
                                                 meter.by_name.items()), reverse=True)[:8]}),
                  flush=True)
"""

HOST_SCRIPT = PROBE + r"""
import attrs
from liqframe import config as cm
from liqframe.host import Host, build_components
from liqframe.plugins import Registry, get_plugin_manager
from liqframe.testing.web import default_config, web_section

async def main(db, venues, priority):
    text = default_config(web_section(keys=(("bench-key", "full"),),
                                      tiers=(("full", "0", 100, 10_000_000),)))
    cfg = cm.parse(text)
    cfg = attrs.evolve(cfg, host=attrs.evolve(cfg.host, realtime_priority=priority))
    # the venues run in their own process: reach them at their URLs instead of serving them
    cfg = attrs.evolve(cfg, venues=[attrs.evolve(v, options={
        "url": venues[v.name]["url"], "api_key": venues[v.name]["api_key"]})
        for v in cfg.venues])
    host = Host(cfg, text, build_components(cfg, Registry.collect(get_plugin_manager())),
                db_path=db, report=lambda line: print(json.dumps({"report": line}), flush=True))
    stats = []
    run = asyncio.create_task(host.run(None))
    while host.web is None:
        await asyncio.sleep(0.05)
    await asyncio.sleep(2)  # venues up and reconciled
    print(json.dumps({"url": host.web.url}), flush=True)
    tasks = [asyncio.create_task(probe(stats))]
    await commands(stats)
    host.stop()
    await run
    for task in tasks:
        task.cancel()

with asyncio.Runner(loop_factory=new_event_loop) as runner:
    runner.run(main(sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3])))
"""

#: A bare event loop running only the probe, measured at the same moments as the host: the
#: delay the machine's scheduler alone causes (the floor under the host's figure).
CONTROL_SCRIPT = PROBE + r"""
async def main():
    stats = []
    task = asyncio.create_task(probe(stats))
    print(json.dumps({"url": None}), flush=True)
    await commands(stats)
    task.cancel()

with asyncio.Runner(loop_factory=new_event_loop) as runner:
    runner.run(main())
"""

KEY = "bench-key"
CHANNELS = "book,venue_books,bbo,venues,metrics,balances,orders,fills,events"


class _Child:
    """A child process that ends when its standard input closes."""

    process = None

    def stop(self):
        self.process.stdin.close()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()


class VenuesProcess(_Child):
    """The simulated exchanges of the default configuration, served by a process of their own."""

    def __init__(self):
        self.process = subprocess.Popen([sys.executable, "-m", "liqframe_simvenue"],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.venues = {}
        for line in self.process.stdout:
            data = json.loads(line)
            if data.get("ready"):
                break
            self.venues[data["venue"]] = data
        else:
            raise RuntimeError("the simulated venues did not start")


class HostProcess(_Child):
    """Runs ``script`` (the host, or the control loop) and answers its probe's commands."""

    def __init__(self, directory, script=HOST_SCRIPT, args=()):
        self.process = subprocess.Popen(
            [sys.executable, "-c", script, *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=directory)
        self.url = self.read("url")

    def read(self, field):
        while True:
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError("the host process ended")
            data = json.loads(line)
            if field in data:
                return data if field != "url" else data[field]

    def ask(self, command, field):
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self.read(field)


class _Requester(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection sending ``request`` again as soon as the previous
    answer (status 200, body read to its Content-Length) is complete."""

    def __init__(self, request, deadline, done):
        self.request, self.deadline, self.done = request, deadline, done
        self.buffer = b""
        self.need = None  # bytes of the current answer, once its head is read
        self.count = 0
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data):
        self.buffer += data
        while True:
            if self.need is None:
                end = self.buffer.find(b"\r\n\r\n")
                if end < 0:
                    return
                head = self.buffer[:end].decode("latin-1")
                if not head.startswith("HTTP/1.1 200"):
                    self._finish(RuntimeError(f"answer: {head.splitlines()[0]}"))
                    return
                length = next(int(line.split(":", 1)[1]) for line in head.split("\r\n")
                              if line.lower().startswith("content-length:"))
                self.need = end + 4 + length
            if len(self.buffer) < self.need:
                return
            self.buffer, self.need = self.buffer[self.need:], None
            self.count += 1
            if time.perf_counter() >= self.deadline:
                self._finish(None)
                return
            self.transport.write(self.request)

    def connection_lost(self, error):
        self._finish(error or RuntimeError("connection closed by the server"))

    def _finish(self, error):
        if not self.done.done():
            self.done.set_exception(error) if error else self.done.set_result(self.count)
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()


async def rest_rate(url, seconds, connections=32, path="api/book?depth=20"):
    """Requests per second of ``GET /{path}`` over ``connections`` keep-alive connections, one
    request in flight on each."""
    from urllib.parse import urlsplit

    loop = asyncio.get_running_loop()
    address = urlsplit(url)
    request = (f"GET /{path} HTTP/1.1\r\nHost: {address.netloc}\r\n"
               f"X-API-Key: {KEY}\r\n\r\n").encode()
    deadline = time.perf_counter() + seconds
    waits = []
    start = time.perf_counter()
    for _ in range(connections):
        done = loop.create_future()
        await loop.create_connection(lambda done=done: _Requester(request, deadline, done),
                                     address.hostname, address.port)
        waits.append(done)
    counts = await asyncio.gather(*waits)
    return sum(counts) / (time.perf_counter() - start)


async def websocket_rates(url, clients, seconds, connected=None, finished=None):
    """Frames per second each of ``clients`` WebSocket clients receives; ``connected`` and
    ``finished`` (blocking functions) are called in a thread once they are all connected and
    the frames queued meanwhile are read, just before the counting starts, and when it ends,
    before they leave."""
    import aiohttp

    counts = [0] * clients
    ws_url = url.replace("http", "ws") + f"api/ws?key={KEY}&channels={CHANNELS}&depth=20"
    async with aiohttp.ClientSession() as session:
        sockets = [await session.ws_connect(ws_url) for _ in range(clients)]

        async def reader(index, ws, start, end):
            while (left := end - time.perf_counter()) > 0:
                try:
                    await ws.receive(timeout=left)
                except TimeoutError:
                    break
                counts[index] += time.perf_counter() >= start

        start = time.perf_counter() + 1  # frames queued while connecting are not counted

        async def on_start():
            await asyncio.sleep(max(0.0, start - time.perf_counter()))
            if connected is not None:
                await asyncio.to_thread(connected)

        starting = asyncio.create_task(on_start())
        await asyncio.gather(*(reader(i, ws, start, start + seconds)
                               for i, ws in enumerate(sockets)))
        await starting
        if finished is not None:
            await asyncio.to_thread(finished)
        for ws in sockets:
            await ws.close()
    return [c / seconds for c in counts]


def _delay(name, rows, callbacks=True, **extra):
    """The loop-delay figures of one probe over the rounds: the medians of its maximum and
    99th percentile delay and, for the host, of its longest callback's CPU time (the callback
    seen most often as the longest named, the longest ones listed in the JSON output)."""
    median = statistics.median
    names = [r["callback"] for r in rows]
    figures = {
        f"{name}: max delay": {
            "unit": "ms", "by": {"liqframe": median(r["max_ms"] for r in rows)},
            "value": median(r["max_ms"] for r in rows),
            "rounds_ms": [round(r["max_ms"], 3) for r in rows], **extra},
        f"{name}: p99 delay": {
            "unit": "ms", "by": {"liqframe": median(r["p99_ms"] for r in rows)},
            "value": median(r["p99_ms"] for r in rows)}}
    if callbacks:
        figures[f"{name}: max delay the host caused"] = _worst_round(
            rows, "caused", callbacks_meanwhile=max(
                rows, key=lambda r: r["caused_max_ms"])["caused_worst"])
        figures[f"{name}: host's callbacks while the probe waited, CPU"] = _worst_round(
            rows, "work")
        figures[f"{name}: longest callback, CPU"] = {
            "unit": "ms", "by": {"liqframe": median(r["callback_cpu_ms"] for r in rows)},
            "value": median(r["callback_cpu_ms"] for r in rows), "target": "<= 1",
            "wall_ms": median(r["callback_wall_ms"] for r in rows),
            "longest_callback": max(set(names), key=names.count),
            "longest_gc_ms": max(r["gc_ms"] for r in rows),
            "longest_gc_by_generation_ms": [max(r["gc_by_generation_ms"][g] for r in rows)
                                            for g in range(3)],
            "longest_callbacks_cpu_ms": _longest(rows)}
        figures[f"{name}: longest turn of the loop, CPU"] = {
            "unit": "ms", "by": {"liqframe": median(r["turn_max_ms"] for r in rows)},
            "value": median(r["turn_max_ms"] for r in rows),
            "turns_over_1ms": [r["turns_over_1ms"] for r in rows],
            "turns": [r["turns"] for r in rows]}
    return figures


def _worst_round(rows, key, **extra):
    """A per-wake-up figure ``key`` (``{key}_max_ms`` and ``{key}_p99_ms`` in each round's
    report): the worst round's maximum against the 1 ms target, each round's maximum, and the
    median 99th percentile."""
    worst = max(r[f"{key}_max_ms"] for r in rows)
    return {"unit": "ms", "by": {"liqframe": worst}, "value": worst, "target": "<= 1",
            "rounds_ms": [round(r[f"{key}_max_ms"], 3) for r in rows], **extra,
            "p99_ms": statistics.median(r[f"{key}_p99_ms"] for r in rows)}


def _longest(rows, count=8):
    """The callbacks longest in CPU time over all rounds: (ms, name), longest first."""
    worst = {}
    for row in rows:
        for cpu, name in row["longest"]:
            worst[name] = max(cpu, worst.get(name, 0.0))
    return sorted(((cpu, name) for name, cpu in worst.items()), reverse=True)[:count]


def run(quick=False):
    rounds, seconds = (1, 2) if quick else (3, 5)
    clients = 20 if quick else 100
    venues = VenuesProcess()
    try:
        normal = _measure(venues, 0, rounds, seconds, clients)
        realtime = _measure(venues, REALTIME_PRIORITY, rounds, seconds, clients)
    finally:
        venues.stop()
    return {**realtime, **normal}


#: The host's ``host.realtime_priority`` in the second half of the benchmark.
REALTIME_PRIORITY = 10


def _measure(venues, priority, rounds, seconds, clients):
    """Every figure of one host, run with ``host.realtime_priority = priority``."""
    with tempfile.TemporaryDirectory() as directory:
        host = HostProcess(directory, args=(os.path.join(directory, "bench.db"),
                                            json.dumps(venues.venues), str(priority)))
        control = HostProcess(directory, CONTROL_SCRIPT)
        probes = (host, control)

        def ask(command):
            return [p.ask(command, "ok" if command == "reset" else "max_ms") for p in probes]

        try:
            rest, ws_rates, idle, connecting, loaded = [], [], [], [], []

            def connected():  # the clients are in: the steady pushing is measured from now
                connecting.append(ask("report"))
                ask("reset")

            def finished():  # until now, before the hundred leave at once
                loaded.append(ask("report"))

            for _ in range(rounds):
                rest.append(asyncio.run(rest_rate(host.url, seconds)))
                ask("reset")
                time.sleep(seconds)
                idle.append(ask("report"))
                ask("reset")
                rates = asyncio.run(websocket_rates(host.url, clients, seconds, connected,
                                                    finished))
                ws_rates.append(statistics.median(rates))
        finally:
            for process in (host, control):
                process.stop()
    policies = {row[0]["policy"] for row in loaded + idle}
    if policies != {"SCHED_FIFO" if priority else "SCHED_OTHER"}:
        raise RuntimeError(f"host.realtime_priority = {priority}: the host's loop ran under "
                           f"{', '.join(sorted(policies))}")
    policy = f"SCHED_FIFO {priority}" if priority else "normal policy"
    median = statistics.median
    return {
        f"consolidated top 20 over REST ({policy})": {
            "unit": "requests/s", "by": {"liqframe": median(rest)}, "value": median(rest),
            "target": ">= 5000"},
        f"WebSocket frames per client ({clients} clients, {policy})": {
            "unit": "frames/s", "by": {"liqframe": median(ws_rates)},
            "value": median(ws_rates), "target": "10"},
        **_delay(f"host loop ({policy}), pushing to {clients} clients",
                 [r[0] for r in loaded], target="<= 1"),
        **_delay(f"bare loop beside it ({policy} host, {clients} clients), the machine's floor",
                 [r[1] for r in loaded], callbacks=False),
        **_delay(f"host loop ({policy}), no clients", [r[0] for r in idle]),
        **_delay(f"bare loop beside it ({policy} host, no clients)", [r[1] for r in idle],
                 callbacks=False),
        **_delay(f"host loop ({policy}) while {clients} clients connect",
                 [r[0] for r in connecting]),
    }


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv), indent=2))
