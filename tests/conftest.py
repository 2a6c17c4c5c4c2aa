import os

import pytest
from hypothesis import HealthCheck, settings

from liqframe import core

pytest_plugins = ["pytester"]

# The twin fixture is stateless, so sharing it across Hypothesis examples is safe.
settings.register_profile("liqframe", suppress_health_check=[HealthCheck.function_scoped_fixture])
settings.load_profile("liqframe")


def twin_modules(name):
    """Both twins of core module ``name`` as pytest params: the pure one, and the compiled one
    unless LIQFRAME_NO_EXTENSIONS is set. A compiled module that should be there and is not
    fails the test instead of being skipped."""
    params = [pytest.param(core.load(name, compiled=False), id="pure")]
    if not core.NO_EXTENSIONS:
        params.append(pytest.param(name, id="compiled", marks=pytest.mark.compiled))
    return params


@pytest.fixture
def twin(request):
    """Resolve a param from :func:`twin_modules` to the module, importing the compiled one
    inside the test so that a missing build is a failure, not a collection error."""
    module = request.param
    if isinstance(module, str):
        return core.load(module, compiled=True)
    return module


def pytest_configure(config):
    config.addinivalue_line("markers", "compiled: runs the compiled twin of a core module")
    if os.environ.get("LIQFRAME_REQUIRE_EXTENSIONS") and not core.EXTENSIONS_LOADED:
        raise pytest.UsageError(
            "LIQFRAME_REQUIRE_EXTENSIONS is set but the compiled core did not load")
