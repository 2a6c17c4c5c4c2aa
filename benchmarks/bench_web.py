"""Web API and WebSocket pushes of a running host (area "web").

The host runs in its own process (the embedded default config: four simulated venues it
serves itself, strategies quoting) with a probe task that sleeps 1 ms at a time and records
how late each wake-up is: the host event loop's delay. This process is the load:

* REST: ``GET /api/book?depth=20`` (consolidated top 20 with per-venue sizes) from a pool of
  keep-alive connections for a few seconds; requests per second (target >= 5,000);
* WebSocket: 100 clients subscribed to the dashboard's channels at push_hz = 10; frames per
  second each client received, and the loop's maximum delay meanwhile (target <= 1 ms),
  next to the same probe with no clients (the host's own baseline).

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

HOST_SCRIPT = r"""
import asyncio, json, sys, time
from liqframe import config as cm
from liqframe.host import Host, build_components
from liqframe.plugins import Registry, get_plugin_manager
from liqframe.testing.web import default_config, web_section

async def probe(stats):
    loop = asyncio.get_running_loop()
    while True:
        before = loop.time()
        await asyncio.sleep(0.001)
        stats.append(loop.time() - before - 0.001)

async def commands(stats, host):
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := (await reader.readline()).decode().strip():
        if line == "reset":
            stats.clear()
            print(json.dumps({"ok": True}), flush=True)
        elif line == "report":
            data = sorted(stats)
            print(json.dumps({"n": len(data), "max_ms": data[-1] * 1e3,
                              "p99_ms": data[int(len(data) * 0.99)] * 1e3,
                              "p50_ms": data[len(data) // 2] * 1e3}), flush=True)
    host.stop()

async def main(db):
    text = default_config(web_section(keys=(("bench-key", "full"),),
                                      tiers=(("full", "0", 100, 10_000_000),)))
    cfg = cm.parse(text)
    host = Host(cfg, text, build_components(cfg, Registry.collect(get_plugin_manager())),
                db_path=db, report=lambda line: print(json.dumps({"report": line}), flush=True))
    stats = []
    run = asyncio.create_task(host.run(None))
    while host.web is None:
        await asyncio.sleep(0.05)
    await asyncio.sleep(2)  # venues up and reconciled
    print(json.dumps({"url": host.web.url}), flush=True)
    tasks = [asyncio.create_task(probe(stats)), asyncio.create_task(commands(stats, host))]
    await run
    for task in tasks:
        task.cancel()

asyncio.run(main(sys.argv[1]))
"""

KEY = "bench-key"
CHANNELS = "book,venue_books,bbo,venues,metrics,balances,orders,fills,events"


class HostProcess:
    def __init__(self, directory):
        self.process = subprocess.Popen(
            [sys.executable, "-c", HOST_SCRIPT, os.path.join(directory, "bench.db")],
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

    def stop(self):
        self.process.stdin.close()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()


async def rest_rate(url, seconds, connections=64):
    import aiohttp

    done = 0
    deadline = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector, headers={"X-API-Key": KEY}) as s:
        target = url + "api/book?depth=20"

        async def worker():
            nonlocal done
            while time.perf_counter() < deadline:
                async with s.get(target) as answer:
                    await answer.read()
                    if answer.status != 200:
                        raise RuntimeError(f"{answer.status}: {await answer.text()}")
                done += 1

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        return done / (time.perf_counter() - start)


async def websocket_rates(url, clients, seconds):
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
        await asyncio.gather(*(reader(i, ws, start, start + seconds)
                               for i, ws in enumerate(sockets)))
        for ws in sockets:
            await ws.close()
    return [c / seconds for c in counts]


def run(quick=False):
    rounds, seconds = (1, 2) if quick else (3, 5)
    clients = 20 if quick else 100
    with tempfile.TemporaryDirectory() as directory:
        host = HostProcess(directory)
        try:
            rest, ws_rates, idle, loaded = [], [], [], []
            for _ in range(rounds):
                rest.append(asyncio.run(rest_rate(host.url, seconds)))
                host.ask("reset", "ok")
                time.sleep(seconds)
                idle.append(host.ask("report", "max_ms"))
                host.ask("reset", "ok")
                rates = asyncio.run(websocket_rates(host.url, clients, seconds))
                loaded.append(host.ask("report", "max_ms"))
                ws_rates.append(statistics.median(rates))
        finally:
            host.stop()
    median = statistics.median
    return {
        "consolidated top 20 over REST": {
            "unit": "requests/s", "by": {"liqframe": median(rest)}, "value": median(rest),
            "target": ">= 5000"},
        f"WebSocket frames per client ({clients} clients)": {
            "unit": "frames/s", "by": {"liqframe": median(ws_rates)},
            "value": median(ws_rates), "target": "10"},
        f"host loop max delay with {clients} WebSocket clients": {
            "unit": "ms", "by": {"liqframe": median(r["max_ms"] for r in loaded)},
            "value": median(r["max_ms"] for r in loaded), "target": "<= 1",
            "p99_ms": median(r["p99_ms"] for r in loaded)},
        "host loop max delay, no clients (baseline)": {
            "unit": "ms", "by": {"liqframe": median(r["max_ms"] for r in idle)},
            "value": median(r["max_ms"] for r in idle),
            "p99_ms": median(r["p99_ms"] for r in idle)},
    }


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv), indent=2))
