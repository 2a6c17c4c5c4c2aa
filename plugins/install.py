"""Install every first-party plugin in plugins/ into the running Python, and with --test run
each one's own test suite. Used by tox; handy by hand too.

    python plugins/install.py [--test]

Plugins are installed with --no-deps: their one dependency, liqframe, must already be
installed (from this checkout), never fetched from an index.
"""

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def plugin_dirs():
    return sorted(p for p in HERE.iterdir() if (p / "pyproject.toml").exists())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--test", action="store_true", help="run each plugin's tests afterwards")
    args = parser.parse_args(argv)
    dirs = plugin_dirs()
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-build-isolation", *map(str, dirs)], check=True)
    print(f"installed {len(dirs)} plugins: {', '.join(d.name for d in dirs)}")
    if not args.test:
        return 0
    failed = [d.name for d in dirs
              if subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                                 "tests"], cwd=d).returncode != 0]
    if failed:
        print(f"plugin tests failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    print(f"{len(dirs)} plugins passed their tests")
    return 0


if __name__ == "__main__":
    sys.exit(main())
