"""Serve the simulated exchanges of a liqframe configuration in a process of their own.

    python -m liqframe_simvenue [--config FILE]

Every ``simvenue`` venue of the configuration (the embedded default when no ``--config``) is
built exactly as a host with ``serve = true`` would build it, and served on 127.0.0.1; one JSON
line per venue (``{"venue", "symbol", "url", "api_key"}``) then ``{"ready": true}`` go to
standard output. A host configured with each venue's ``url`` and ``api_key`` (and no ``serve``)
then trades on them over loopback while its own event loop does only the host's work, which is
what a benchmark of the host should measure. Runs until SIGTERM, SIGINT or end of standard
input.
"""

import argparse
import asyncio
import os
import signal
import stat
import sys

import orjson


def simulations(config):
    """``(venue config, SimVenueConnector)`` of every simvenue venue of ``config``."""
    from liqframe.host import build_components
    from liqframe.plugins import Registry, get_plugin_manager

    components = build_components(config, Registry.collect(get_plugin_manager()))
    return [(v, components.venues[v.name]) for v in config.venues
            if v.connector == "simvenue" and v.name in components.venues
            and components.venues[v.name].simulation is not None]


def _is_pipe(file):
    try:
        return stat.S_ISFIFO(os.fstat(file.fileno()).st_mode)
    except (OSError, ValueError):
        return False


async def serve(config):
    venues = simulations(config)
    started = []
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        for venue, connector in venues:
            url = await connector.simulation.start()
            started.append(connector.simulation)
            print(orjson.dumps({"venue": venue.name, "symbol": connector.symbol, "url": url,
                                "api_key": connector.api_key}).decode(), flush=True)
        print(orjson.dumps({"ready": True}).decode(), flush=True)
        if _is_pipe(sys.stdin):  # otherwise (a terminal, /dev/null) signals alone stop it
            reader = asyncio.StreamReader()
            await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader),
                                         sys.stdin)
            reader_done = asyncio.ensure_future(reader.read())
            reader_done.add_done_callback(lambda _: stop.set())
        await stop.wait()
    finally:
        for simulation in reversed(started):
            await simulation.stop()


def main(argv=None):
    from liqframe import config as config_module

    parser = argparse.ArgumentParser(prog="python -m liqframe_simvenue",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", help="a liqframe TOML file (default: the embedded one)")
    args = parser.parse_args(argv)
    config, _ = config_module.load(args.config)
    asyncio.run(serve(config))
    return 0


if __name__ == "__main__":
    sys.exit(main())
