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
                        help="the symmetric strategy's spread (default (2/γ)·ln(1+γ/k))")
    parser.add_argument("--fresh-quotes", action="store_true",
                        help="measure a quote's distance from the mid before the step's move "
                             "instead of after it")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object and no progress bar")
    parser.set_defaults(handler=cmd_avellaneda_stoikov)


def _progress(total, enabled):
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(TextColumn("simulating"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
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
                      q0=args.q0, k=args.k, A=args.A, symmetric_spread=args.symmetric_spread,
                      stale_quotes=not args.fresh_quotes)
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
                      "A": model.A, "symmetric_spread": model.fixed_spread(),
                      "stale_quotes": model.stale_quotes},
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


SCENARIOS = {
    "avellaneda-stoikov": add_avellaneda_stoikov,
}


def add_backtest(subparsers):
    parser = subparsers.add_parser(
        "backtest", help="run a strategy backtest scenario",
        description="Run a backtest scenario. Each scenario is a subcommand with its own "
                    "options: avellaneda-stoikov runs the paper's simulation experiment.")
    scenarios = parser.add_subparsers(title="scenarios", metavar="SCENARIO", required=True,
                                      help="the scenario to run")
    for add in SCENARIOS.values():
        add(scenarios)
