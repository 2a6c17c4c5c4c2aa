"""Run a test against both twins of a core module: the pure one and the compiled one.

    @pytest.mark.parametrize("twin", twin_modules("book"), indirect=True)
    def test_something(twin):
        book = twin.L2Book()

The ``twin`` fixture (from liqframe's pytest plugin) turns each parameter into the module. The
compiled twin is imported inside the test, so a build that should be there and is not fails
the test rather than being skipped; with ``LIQFRAME_NO_EXTENSIONS=1`` only the pure twin runs.
"""

import pytest

from liqframe import core


def twin_modules(name):
    """Pytest params for both twins of core module ``name``."""
    params = [pytest.param(core.load(name, compiled=False), id="pure")]
    if not core.NO_EXTENSIONS:
        params.append(pytest.param(name, id="compiled"))
    return params


def resolve_twin(param):
    """The module a :func:`twin_modules` param stands for."""
    return core.load(param, compiled=True) if isinstance(param, str) else param
