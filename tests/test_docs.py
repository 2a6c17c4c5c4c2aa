"""Everything a user can touch is documented: hooks, CLI commands and options, config fields,
environment variables (after datasette's and pytest's documentation tests)."""

import re
from pathlib import Path

import pytest

from liqframe import config, hookspecs
from liqframe.cli import COMMANDS, build_parser

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO / "docs" / "reference"


def text(name):
    return (REFERENCE / name).read_text("utf-8")


@pytest.mark.parametrize("hook", sorted(h for h in vars(hookspecs) if h.startswith("liqframe_")))
def test_hook_documented(hook):
    assert getattr(hookspecs, hook).__doc__, f"{hook} has no docstring"
    assert f".. autofunction:: liqframe.hookspecs.{hook}" in text("hooks.rst")


def _subcommands():
    return build_parser()._subparsers._group_actions[0].choices


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_cli_command_and_options_documented(command):
    cli = text("cli.rst")
    assert re.search(rf"^liqframe {command}\n-+$", cli, re.M), f"no section for {command}"
    section = cli.split(f"liqframe {command}\n")[1].split("\nliqframe ")[0]
    for action in _subcommands()[command]._actions:
        for option in action.option_strings:
            if option not in ("-h", "--help"):
                assert option in section, f"liqframe {command} {option} is not documented"


@pytest.mark.parametrize("path", [path for path, _ in config.iter_fields()])
def test_config_field_documented(path):
    assert f"``{path}``" in text("config.rst")


def _environment_variables():
    # an environment variable is read by its name as a string literal; C macros in .pyx
    # files share the prefix but are not variables
    names = set()
    for source in [*(REPO / "liqframe").rglob("*.py"), *(REPO / "liqframe").rglob("*.pyx"),
                   *(REPO / "plugins").glob("*/liqframe_*/*.py"), REPO / "setup.py"]:
        code = source.read_text("utf-8")
        names |= (set(re.findall(r"[\"'](LIQFRAME_[A-Z_]+)[\"']", code))
                  - set(re.findall(r"#define (LIQFRAME_[A-Z_]+)", code)))
    return sorted(names)


@pytest.mark.parametrize("name", _environment_variables())
def test_environment_variable_documented(name):
    assert f"``{name}``" in text("environment.rst")
