"""The compiled core: loaded when expected, and each module with a complete pure twin."""

import importlib

import pytest

from liqframe import core


def test_extensions_loaded_unless_disabled():
    if core.NO_EXTENSIONS:
        assert not core.EXTENSIONS_LOADED
        assert core.to_units.__module__ == "liqframe._core.fixed"
    else:
        assert core.EXTENSIONS_LOADED, "the compiled core did not load: build it with pip install ."


@pytest.mark.parametrize("name", sorted(core.MODULES))
def test_twins_export_the_same_names(name):
    pure = importlib.import_module(f"liqframe._core.{name}")
    for export in core.MODULES[name]:
        assert hasattr(pure, export), f"pure twin {name} lacks {export}"
        assert getattr(core, export) is not None
    if not core.NO_EXTENSIONS:
        compiled = importlib.import_module(f"liqframe._core._{name}")
        missing = [e for e in core.MODULES[name] if not hasattr(compiled, e)]
        assert not missing, f"compiled {name} lacks {missing}"
