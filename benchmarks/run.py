"""Run one benchmark area side by side with the peer libraries and print ratios.

    python benchmarks/run.py AREA [--quick] [--json]

Each area lives in ``benchmarks/bench_<area>.py`` and exposes ``run(quick: bool) -> dict``:
a mapping of figure names to ``{"value": float, "unit": str, ...}``, where a figure measured
for several implementations carries ``"by": {implementation: value}`` and, when peers were
measured, ``"ratio_to_fastest_peer"``. Peers missing from the environment are reported as
not installed (``pip install .[bench]`` installs them), never silently left out.
"""

import argparse
import importlib
import sys
from pathlib import Path

import orjson

HERE = Path(__file__).resolve().parent


def areas():
    return sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("area", choices=areas(), help="which benchmark to run")
    parser.add_argument("--quick", action="store_true", help="a smaller workload, for smoke runs")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(HERE))
    module = importlib.import_module(f"bench_{args.area}")
    results = module.run(quick=args.quick)
    if args.json:
        sys.stdout.write(orjson.dumps(results, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        from common import print_table

        print_table(args.area, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
