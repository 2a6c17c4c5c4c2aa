"""``liqframe backtest SCENARIO ...``: one subcommand per scenario.

:data:`SCENARIOS` maps each scenario's name to its ``add_<scenario>(subparsers)``; a later
scenario (simulated venues, recorded books) is one more entry. Heavy imports (numpy, the
models) happen when a scenario runs, not when the command line is built.
"""

import sys

import orjson

from liqframe.errors import ConfigError, InvalidValue

#: The model's parameter names and the options that set them, for error messages.
AS_OPTIONS = {"gamma": "--gamma", "s0": "--s0", "T": "--horizon", "sigma": "--sigma",
              "dt": "--dt", "q0": "--q0", "k": "--k", "A": "--A", "paths": "--paths",
              "seed": "--seed", "symmetric_spread": "--symmetric-spread", "steps": "--steps"}


def add_avellaneda_stoikov(subparsers):
    parser = subparsers.add_parser(
        "avellaneda-stoikov", help="the Avellaneda–Stoikov (2008) simulation experiment",
        description="Simulate the inventory strategy and the symmetric strategy of Avellaneda "
                    "& Stoikov (2008) over the same Brownian mid-price paths, with fills of "
                    "probability A·exp(-k·δ)·dt per step, and print for each the average spread, "
                    "the mean and standard deviation of profit and of the final inventory. "
                    "Defaults are the paper's.")
    parser.add_argument("--gamma", required=True, type=float, help="risk aversion γ (≥ 0)")
    parser.add_argument("--paths", type=int, default=1000, help="simulated paths (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--s0", type=float, default=100.0, help="initial mid price (default 100)")
    parser.add_argument("--horizon", type=float, default=1.0, metavar="T",
                        help="horizon T (default 1)")
    parser.add_argument("--sigma", type=float, default=2.0, help="mid-price volatility σ "
                        "(default 2)")
    time_step = parser.add_mutually_exclusive_group()
    time_step.add_argument("--dt", type=float, default=0.005, help="time step (default 0.005)")
    time_step.add_argument("--steps", type=int, help="number of steps (sets dt = T / steps)")
    parser.add_argument("--q0", type=int, default=0, help="initial inventory (default 0)")
    parser.add_argument("--k", type=float, default=1.5, help="intensity decay k (default 1.5)")
    parser.add_argument("--A", type=float, default=140.0, help="intensity scale A (default 140)")
    parser.add_argument("--symmetric-spread", type=float, metavar="SPREAD",
                        help="the symmetric strategy's spread (default the inventory "
                             "strategy's average over [0, T], γσ²T/2 + (2/γ)·ln(1+γ/k))")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object and no progress bar")
    parser.set_defaults(handler=cmd_avellaneda_stoikov)


def _progress(total, enabled, label="simulating"):
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(TextColumn(label), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                    TimeRemainingColumn(), console=Console(stderr=True), transient=True,
                    disable=not enabled)


def cmd_avellaneda_stoikov(args):
    from liqframe.backtest.avellaneda import Model, experiment

    try:
        dt = args.dt
        if args.steps is not None:
            if args.steps < 1:
                raise InvalidValue("steps", args.steps, "must be at least 1")
            dt = args.horizon / args.steps
        model = Model(gamma=args.gamma, s0=args.s0, T=args.horizon, sigma=args.sigma, dt=dt,
                      q0=args.q0, k=args.k, A=args.A, symmetric_spread=args.symmetric_spread)
        with _progress(2 * model.steps, not args.json) as progress:
            task = progress.add_task("simulating", total=2 * model.steps)
            results = experiment(model, args.paths, args.seed,
                                 advance=lambda n: progress.advance(task, n))
    except InvalidValue as error:
        option = AS_OPTIONS.get(error.field, error.field)
        raise ConfigError(f"{option}: {error.value!r} {error.problem}") from None
    if args.json:
        document = {
            "model": {"gamma": model.gamma, "s0": model.s0, "T": model.T, "sigma": model.sigma,
                      "dt": model.dt, "steps": model.steps, "q0": model.q0, "k": model.k,
                      "A": model.A, "symmetric_spread": model.fixed_spread()},
            "paths": args.paths, "seed": args.seed,
            "strategies": {name: result.summary() for name, result in results.items()},
        }
        sys.stdout.write(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n")
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Avellaneda–Stoikov, γ = {model.gamma:g}, {args.paths} paths, "
                        f"seed {args.seed}")
    for column in ("strategy", "average spread", "profit", "std(profit)", "final q",
                   "std(final q)"):
        table.add_column(column, justify="left" if column == "strategy" else "right")
    for name, r in results.items():
        table.add_row(name, f"{r.average_spread:.2f}", f"{r.profit_mean:.2f}",
                      f"{r.profit_std:.2f}", f"{r.final_q_mean:.3f}", f"{r.final_q_std:.2f}")
    Console(highlight=False, soft_wrap=True).print(table)
    return 0


#: Queue-backtest parameter names and their options, for error messages.
QUEUE_OPTIONS = {"interval_ns": "--interval-ms", "order_latency_ns": "--latency-ms",
                 "feed_latency_ns": "--feed-latency-ms", "queue_model": "--queue",
                 "power": "--power", "fee_bps": "--fee-bps", "size": "--size",
                 "offset": "--offset", "max_position": "--max-position", "count": "--events",
                 "tick": "--tick", "unit": "--unit"}


def _add_queue_options(parser):
    parser.add_argument("--queue", choices=("conservative", "probabilistic"),
                        default="conservative",
                        help="queue-position model (default conservative: only trades move "
                             "the order up)")
    parser.add_argument("--power", default="2",
                        help="the probabilistic model's power f(x) = x**power (default 2)")
    parser.add_argument("--latency-ms", default="1",
                        help="order and cancel latency to the exchange, in ms (default 1)")
    parser.add_argument("--feed-latency-ms", default=None,
                        help="market data latency added to exchange time, in ms")
    parser.add_argument("--interval-ms", default="100",
                        help="time between strategy decisions, in ms (default 100)")
    parser.add_argument("--size", type=int, default=1,
                        help="lots quoted on each side (default 1)")
    parser.add_argument("--offset", type=int, default=0,
                        help="ticks behind the best bid and ask to quote (default 0: the touch)")
    parser.add_argument("--max-position", type=int, default=None,
                        help="stop bidding at this position and offering at its negative")
    parser.add_argument("--fee-bps", default="0",
                        help="fee per fill in basis points of notional, negative for a rebate "
                             "(default 0)")
    parser.add_argument("--db", metavar="PATH",
                        help="append the run, its fills and equity to this SQLite database")
    parser.add_argument("--plot", metavar="PATH",
                        help="write an HTML page with inline SVG charts of the run")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object and no progress bar")


def add_synthetic(subparsers):
    parser = subparsers.add_parser(
        "synthetic", help="quote at the touch against a synthetic L2 feed",
        description="Generate a random L2 feed (one event per ms around a drifting mid) and "
                    "replay it against a strategy quoting at the touch, with queue-position "
                    "fills and order latency; report PnL and its split, inventory, fill rates "
                    "and markouts. Money is in ticks x lots.")
    parser.add_argument("--events", type=int, default=1_000_000,
                        help="feed length in events (default 1,000,000)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    _add_queue_options(parser)
    parser.set_defaults(handler=cmd_queue_backtest, scenario="synthetic")


def add_recorded(subparsers):
    parser = subparsers.add_parser(
        "recorded", help="quote at the touch against a recorded LOBSTER session",
        description="Replay a recorded NASDAQ session in LOBSTER format (message file, with "
                    "its orderbook file) against a strategy quoting at the touch: its depth "
                    "changes and visible executions as an L2 feed, with queue-position fills "
                    "and order latency. Money is in ticks x shares times --unit.")
    parser.add_argument("recording", metavar="RECORDING", help="the LOBSTER message CSV file")
    parser.add_argument("--orderbook", metavar="PATH",
                        help="the orderbook CSV file (default: RECORDING with 'message' "
                             "replaced by 'orderbook')")
    parser.add_argument("--tick", type=int, default=100,
                        help="tick size in LOBSTER price units, dollars x 10000 (default 100: "
                             "one cent)")
    parser.add_argument("--unit", default=None,
                        help="currency value of one tick on one lot for the reported money "
                             "(default: tick / 10000, dollars)")
    _add_queue_options(parser)
    parser.set_defaults(handler=cmd_queue_backtest, scenario="recorded")


def _ns(field, text):
    from liqframe.core import to_units

    try:
        value = to_units(str(text), 6)
    except ValueError as error:
        raise InvalidValue(field, text, f"is not a duration in ms ({error})") from None
    if value < 0:
        raise InvalidValue(field, text, "must not be negative")
    return value


def _number(field, text):
    from liqframe.backtest.params import number

    return number(field, text)


def _queue_events(args):
    from liqframe.backtest.feeds import lobster_feed, synthetic_feed

    if args.scenario == "synthetic":
        latency = 500_000 if args.feed_latency_ms is None else \
            _ns("feed_latency_ns", args.feed_latency_ms)
        return synthetic_feed(args.events, args.seed, feed_latency_ns=latency), \
            f"synthetic seed {args.seed}", 1.0
    latency = 0 if args.feed_latency_ms is None else _ns("feed_latency_ns", args.feed_latency_ms)
    events = lobster_feed(args.recording, args.orderbook, tick=args.tick,
                          feed_latency_ns=latency)
    unit = args.tick / 10000 if args.unit is None else _number("unit", args.unit)
    return events, args.recording, unit


def cmd_queue_backtest(args):
    from liqframe.backtest.queue import QuoteTouch, run

    try:
        interval = _ns("interval_ns", args.interval_ms)
        if interval == 0:
            raise InvalidValue("interval_ns", args.interval_ms, "must be positive")
        latency = _ns("order_latency_ns", args.latency_ms)
        power, fee_bps = _number("power", args.power), _number("fee_bps", args.fee_bps)
        strategy = QuoteTouch(size=args.size, offset=args.offset,
                              max_position=args.max_position)
        events, source, unit = _queue_events(args)
        with _progress(len(events), not args.json, "replaying") as progress:
            task = progress.add_task("replaying", total=len(events))
            result = run(events, strategy, interval_ns=interval, order_latency_ns=latency,
                         queue_model=args.queue, power=power, fee_bps=fee_bps,
                         progress=lambda done: progress.update(task, completed=done))
    except InvalidValue as error:
        option = QUEUE_OPTIONS.get(error.field, f"--{error.field.replace('_', '-')}")
        if error.field in ("recording", "orderbook") or " row " in error.field:
            option = error.field
        raise ConfigError(f"{option}: {error.value!r} {error.problem}") from None
    options = {"queue_model": args.queue, "power": power, "latency_ms": latency / 1e6,
               "interval_ms": interval / 1e6, "size": args.size, "offset": args.offset,
               "max_position": args.max_position, "fee_bps": fee_bps}
    run_id = None
    if args.db:
        from liqframe.backtest.report import write_sqlite

        run_id = write_sqlite(args.db, result, scenario=args.scenario, source=source,
                              options=options, unit=unit)
    if args.plot:
        from liqframe.backtest.report import plot_html

        plot_html(args.plot, result, title=f"liqframe backtest {args.scenario}: {source}",
                  unit=unit)
    summary = result.summary()
    if args.json:
        document = {"scenario": args.scenario, "source": source, "options": options,
                    "unit": unit, "summary": summary, "run_id": run_id, "plot": args.plot}
        sys.stdout.write(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n")
        return 0
    _print_queue_summary(args.scenario, source, summary, unit)
    return 0


def _print_queue_summary(scenario, source, summary, unit):
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"backtest {scenario}: {source}", show_header=False)
    table.add_column("figure")
    table.add_column("value", justify="right")
    pnl, inventory, fills = summary["pnl"], summary["inventory"], summary["fills"]
    for key in ("total", "spread_capture", "inventory", "fees"):
        table.add_row(f"PnL {key.replace('_', ' ')}", f"{pnl[key] * unit:,.2f}")
    table.add_row("inventory final / mean / std",
                  f"{inventory['final']} / {inventory['mean']:.2f} / {inventory['std']:.2f}")
    table.add_row("inventory min / max", f"{inventory['min']} / {inventory['max']}")
    table.add_row("fills (buys / sells)", f"{fills['fills']} ({fills['buys']} / {fills['sells']})")
    table.add_row("orders sent / rejected",
                  f"{fills['bid_orders'] + fills['ask_orders']} / {fills['rejected']}")
    table.add_row("fill rate", f"{fills['fill_rate']:.3f}")
    for horizon, values in summary["markouts"].items():
        move = "n/a" if values["mid_move"] is None else f"{values['mid_move']:+.3f}"
        table.add_row(f"markout {horizon} (mid move, ticks)", f"{move} over {values['fills']}")
    Console(highlight=False, soft_wrap=True).print(table)


SCENARIOS = {
    "avellaneda-stoikov": add_avellaneda_stoikov,
    "synthetic": add_synthetic,
    "recorded": add_recorded,
}


def add_backtest(subparsers):
    parser = subparsers.add_parser(
        "backtest", help="run a strategy backtest scenario",
        description="Run a backtest scenario. Each scenario is a subcommand with its own "
                    "options: avellaneda-stoikov runs the paper's simulation experiment; "
                    "synthetic and recorded replay an L2 feed with queue-position fills "
                    "and latency.")
    scenarios = parser.add_subparsers(title="scenarios", metavar="SCENARIO", required=True,
                                      help="the scenario to run")
    for add in SCENARIOS.values():
        add(scenarios)
