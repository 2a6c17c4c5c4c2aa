"""The ``liqframe`` command line.

Every command is a function ``cmd_<name>(args) -> exit code`` and a ``add_<name>(subparsers)``
that declares it; :data:`COMMANDS` lists them, and the docs test checks each is documented.
Configuration and plugin errors exit with code 2 and a message that names the field and the fix.
"""

import argparse
import asyncio
import signal
import sys
from pathlib import Path

import orjson
from rich.console import Console
from rich.table import Table

import liqframe
from liqframe import config as config_module
from liqframe.backtest.cli import add_backtest
from liqframe.errors import ConfigError, LiqframeError, PluginError
from liqframe.plugins import Registry, describe_plugins, get_plugin_manager
from liqframe.route_scenario import add_route

EXIT_USAGE = 2


def _console(stderr=False):
    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def add_plugins(subparsers):
    parser = subparsers.add_parser(
        "plugins", help="list installed plugins and the names they register",
        description="List every plugin (built-in, installed through entry points, and local "
                    "ones named in a config) with its distribution, version, the kinds it "
                    "provides and the names it registers. Broken plugins are listed with "
                    "their problem.")
    parser.add_argument("--json", action="store_true", help="print a JSON array instead")
    parser.add_argument("--config", metavar="FILE", help="also load the config's local plugins")
    parser.set_defaults(handler=cmd_plugins)


def cmd_plugins(args):
    local = config_module.load(args.config)[0].plugins if args.config else ()
    pm = get_plugin_manager(local=local)
    records = describe_plugins(pm, Registry.collect(pm))
    if args.json:
        sys.stdout.write(orjson.dumps(records, option=orjson.OPT_INDENT_2).decode() + "\n")
        return 0
    table = Table(title="liqframe plugins")
    for column in ("plugin", "distribution", "version", "registers", "problem"):
        table.add_column(column)
    for r in records:
        registers = "; ".join(f"{kind}: {', '.join(names)}" for kind, names in r["kinds"].items())
        table.add_row(r["name"], r["distribution"], r["version"], registers, r["problem"] or "")
    _console().print(table)
    return 0


def add_new_plugin(subparsers):
    from liqframe.scaffold import KINDS

    parser = subparsers.add_parser(
        "new-plugin", help="write a new installable plugin package",
        description="Write liqframe-NAME/ with a pyproject.toml declaring the liqframe entry "
                    "point, a module liqframe_NAME implementing the kind's hook with a working "
                    "example, a passing test and a README.")
    parser.add_argument("name", help="plugin name: lower-case words joined by hyphens")
    parser.add_argument("--kind", required=True, choices=KINDS, help="which kind of plugin")
    parser.add_argument("--output", default=".", metavar="DIR",
                        help="folder to create the package in (default: current folder)")
    parser.set_defaults(handler=cmd_new_plugin)


def cmd_new_plugin(args):
    from liqframe.scaffold import new_plugin

    try:
        root = new_plugin(args.name, args.kind, Path(args.output))
    except (ValueError, FileExistsError) as error:
        _console(stderr=True).print(f"liqframe new-plugin: error: {error}")
        return EXIT_USAGE
    print(f"wrote {root}: install it with `pip install {root}`, then run `liqframe plugins`")
    return 0


def add_run(subparsers):
    parser = subparsers.add_parser(
        "run", help="run the host (the embedded default config when no --config is given)",
        description="Start every configured venue, strategy and risk model and run until "
                    "Ctrl-C or --duration. Without --config the embedded default runs.")
    parser.add_argument("--config", metavar="FILE", help="TOML config file")
    parser.add_argument("--duration", type=float, metavar="SECONDS",
                        help="stop after this many seconds (default: run until Ctrl-C)")
    parser.add_argument("--db", metavar="PATH", help="SQLite file (overrides [store] path)")
    parser.add_argument("--print-config", action="store_true",
                        help="print the config that would run, and exit")
    parser.set_defaults(handler=cmd_run)


def cmd_run(args):
    from liqframe.host import Host, build_components, new_event_loop

    console = _console()
    if not console.is_terminal:  # logs and pipes: room for the summary table
        console = Console(highlight=False, soft_wrap=True, width=140)
    cfg, text = config_module.load(args.config)
    if args.print_config:
        sys.stdout.write(text)
        return 0
    if args.duration is not None and args.duration < 0:
        raise ConfigError(f"--duration: {args.duration} must not be negative")
    pm = get_plugin_manager(local=cfg.plugins)
    registry = Registry.collect(pm)
    for warning in registry.warnings:
        _console(stderr=True).print(f"[yellow]warning:[/] {warning}")
    components = build_components(cfg, registry)
    host = Host(cfg, text, components, db_path=args.db or cfg.store.path,
                report=lambda line: console.print(line, markup=False))
    source = args.config or "the embedded default config"
    console.print(f"liqframe {liqframe.__version__} running {source}")
    for line in host.describe():
        console.print(f"  {line}")

    async def main():
        from liqframe.host.status import LiveStatus

        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, host.stop)
        async with LiveStatus(console, host, args.duration).running():
            return await host.run(args.duration)

    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        status = runner.run(main())
    if host.market is not None:
        from liqframe.host.status import summary_table

        console.print(summary_table(host.snapshot(), title=f"liqframe run {host.run_id}"))
    console.print(f"liqframe: {status}; state saved to {args.db or cfg.store.path}")
    return 0


def add_replay(subparsers):
    parser = subparsers.add_parser(
        "replay", help="replay a recording (LOBSTER, or an exchange session through its "
                       "connector) and check it",
        description="Replay a recording through liqframe's books and compare the rebuilt book "
                    "with the recording's own. --format lobster replays a LOBSTER message file "
                    "through the order-by-order book, seeded from the first orderbook row, and "
                    "compares every later row on the price levels visible in both. --venue "
                    "serves a recorded exchange session (../shared/data) on a loopback "
                    "WebSocket/HTTP replay server and drives that venue's connector through it, "
                    "printing messages, checksums checked and failed, gaps and resyncs. Exits 0 "
                    "when everything matched, 1 when something did not, 2 on malformed input.")
    parser.add_argument("recording", metavar="RECORDING",
                        help="the recording (LOBSTER message file, or an exchange recording)")
    parser.add_argument("--format", choices=["lobster"],
                        help="the recording's format, for a LOBSTER replay")
    parser.add_argument("--orderbook", metavar="ORDERBOOK_CSV",
                        help="the LOBSTER orderbook file that goes with the message file")
    parser.add_argument("--levels", type=int, metavar="N",
                        help="number of levels in the orderbook file (its columns / 4)")
    parser.add_argument("--venue", metavar="CONNECTOR",
                        help="replay an exchange recording through this venue connector "
                             "(a name `liqframe plugins` lists, such as kraken or binance)")
    parser.add_argument("--verify", action="store_true",
                        help="with --venue: exit 1 unless every checksum matched with no gap "
                             "and no resync")
    parser.add_argument("--speed", type=float, metavar="X",
                        help="with --venue: play at X times the recorded pace (default: as "
                             "fast as the connector takes it)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=cmd_replay)


def cmd_replay(args):
    if args.venue is not None:
        if args.format is not None:
            raise ConfigError("--venue and --format: give one of them, not both")
        return _replay_venue(args)
    if args.format != "lobster":
        raise ConfigError("replay: give --format lobster (with --orderbook and --levels) or "
                          "--venue CONNECTOR")
    missing = [f"--{name}" for name in ("orderbook", "levels") if getattr(args, name) is None]
    if missing:
        raise ConfigError(f"--format lobster needs {' and '.join(missing)}")
    from liqframe.errors import InvalidValue
    from liqframe.lobster import replay_lobster

    try:
        result = replay_lobster(args.recording, args.orderbook, args.levels)
    except InvalidValue as error:
        raise ConfigError(str(error)) from None
    except OSError as error:
        raise ConfigError(f"{error.filename}: {error.strerror}") from None
    if args.json:
        sys.stdout.write(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        print(f"{result['messages']:,} messages; {result['rows_matched']:,} of "
              f"{result['rows_compared']:,} book rows matched; "
              f"{result['unknown_orders']:,} messages about orders not in the file")
        if result["first_mismatch"]:
            print(f"first mismatch: {result['first_mismatch']}")
    return 0 if result["rows_matched"] == result["rows_compared"] else 1


def _replay_venue(args):
    from liqframe.testing.recordings import load
    from liqframe.testing.replay import replay_connector

    factory = Registry.collect(get_plugin_manager()).resolve("venue", args.venue, "--venue")
    if not hasattr(factory, "replay_options"):
        raise ConfigError(f"--venue: connector {args.venue!r} cannot replay recordings (it has "
                          "no replay_options)")
    if args.speed is not None and args.speed <= 0:
        raise ConfigError(f"--speed: {args.speed} must be positive")
    try:
        recording = load(args.recording)
    except OSError as error:
        raise ConfigError(f"{error.filename}: {error.strerror}") from None
    except (ValueError, KeyError) as error:
        raise ConfigError(f"{args.recording}: not a recording liqframe can read: {error}") \
            from None
    try:
        connector, _, _ = asyncio.run(replay_connector(factory, recording, speed=args.speed))
    except (KeyError, ValueError, TypeError) as error:
        raise ConfigError(f"{args.recording}: not a {args.venue} recording "
                          f"({type(error).__name__}: {error})") from None
    result = connector.stats.as_dict()
    if args.json:
        sys.stdout.write(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        print(f"{result['messages']:,} messages; {result['checksums_checked']:,} checksums "
              f"checked, {result['checksum_failures']:,} failed; {result['gaps']:,} gaps; "
              f"{result['resyncs']:,} resyncs; {result['applied']:,} book updates applied, "
              f"{result['stale_dropped']:,} dropped as stale")
    clean = not (result["checksum_failures"] or result["gaps"] or result["resyncs"])
    return 0 if clean or not args.verify else 1


COMMANDS = {
    "plugins": add_plugins,
    "new-plugin": add_new_plugin,
    "run": add_run,
    "replay": add_replay,
    "backtest": add_backtest,
    "route": add_route,
}


def build_parser():
    parser = argparse.ArgumentParser(
        prog="liqframe",
        description="liqframe: multi-venue crypto liquidity. Consolidated books, smart order "
                    "routing, cross-venue matching and market making, extended by plugins.")
    parser.add_argument("--version", action="version", version=f"liqframe {liqframe.__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    for add in COMMANDS.values():
        add(subparsers)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except (ConfigError, PluginError) as error:
        _console(stderr=True).print(f"liqframe: error: {error}", markup=False)
        return EXIT_USAGE
    except LiqframeError as error:
        _console(stderr=True).print(f"liqframe: error: {error}", markup=False)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
